/**
 * The HTTP endpoint the delivery benchmarks post to: answers every request 200 with an empty body once
 * it has read the body, and counts the POSTs. A child process of its own (plain node, no tsx), so that
 * its CPU is not the measured process's: the benchmarks measure the sender, not the receiver.
 * Speaks to its parent over IPC: sends { port } once listening; answers 'count' with { posts }.
 */
import { createServer } from 'node:http';

let posts = 0;
const server = createServer((request, response) => {
  request.resume();
  request.once('end', () => {
    if (request.method === 'POST') posts++;
    response.writeHead(200, { 'content-length': '0' });
    response.end();
  });
});
// Longer than a round: the senders' keep-alive connections are never closed under them.
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('message', (message) => {
  if (message === 'count') process.send?.({ posts });
});
process.on('disconnect', () => process.exit(0));
