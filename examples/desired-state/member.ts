/**
 * Member b of across.ts, in a process of its own: serves its share of the media-set entities until the
 * parent says stop (or goes away), then hands its partitions back and exits.
 */
import pino from 'pino';
import { type AcrossPlace, startMember } from './across.js';

const place = JSON.parse(process.argv[2]!) as AcrossPlace;
const member = await startMember(place, 'b', pino({ level: 'warn' }));
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await member.stop();
  process.disconnect?.();
  process.exit(0);
};
process.on('message', () => void stop());
process.on('disconnect', () => void stop());
process.send?.('ready');
