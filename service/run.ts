/**
 * The service as a process: configuration (exit 2 with one line when it is wrong), start (exit 1 with
 * one line when it cannot), signals (SIGTERM/SIGINT shut down gracefully; a second signal, or a shutdown
 * longer than SHUTDOWN_TIMEOUT_MS, exits at once — acceptable, since everything accepted is persisted).
 */
import { SteadfastError } from '../src/actor/errors.js';
import { securityWarnings } from './auth.js';
import { loadConfig, redactedConfig, type ServiceConfig } from './config.js';
import { ConfigError } from './errors.js';
import { applyHeapPolicy } from './heap-policy.js';
import { createLogger } from './logger.js';
import { startService } from './service.js';

export async function runService(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: ServiceConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`steadfast: ${error.message}\n`);
    process.exit(2);
  }
  applyHeapPolicy(config.heapGrowingPercent);
  const logger = createLogger(config);
  logger.info({ config: redactedConfig(config) }, 'starting steadfast');
  for (const warning of securityWarnings(config)) logger.warn(warning);
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception; exiting (accepted messages are persisted and resume on restart)');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection; exiting (accepted messages are persisted and resume on restart)');
    process.exit(1);
  });

  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(config, logger);
  } catch (error) {
    // One clear line: the message says what is wrong; the stack would say nothing more to an operator.
    const message = error instanceof SteadfastError ? error.message : `could not start: ${(error as Error).message}`;
    logger.fatal({ code: (error as { code?: unknown }).code }, message);
    process.exit(1);
  }
  const { address } = service;
  logger.info(
    { role: service.role, host: address.address, port: address.port, url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` },
    'steadfast listening',
  );

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down: no new requests; finishing the ones in progress');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'graceful shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    service.shutdown().then(
      () => {
        logger.info('steadfast stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
