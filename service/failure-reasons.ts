/**
 * Why a delivery attempt failed, from a fixed list: `steadfast_delivery_attempts_failed_total{reason}`
 * keeps a bounded label set whatever the transports throw (an error's message holds URLs and ids, so
 * it is never a label). Errors are told apart by their stable `code` (docs/errors.md).
 */
export const FAILURE_REASONS = ['timeout', 'connection', 'http_4xx', 'http_5xx', 'refused', 'amqp_nack', 'closed', 'other'] as const;

export type FailureReason = (typeof FAILURE_REASONS)[number];

const BY_CODE: Readonly<Record<string, FailureReason>> = {
  ERR_HTTP_TIMEOUT: 'timeout',
  ERR_AMQP_PUBLISH_TIMEOUT: 'timeout',
  ERR_HTTP_NETWORK: 'connection',
  ERR_AMQP_UNAVAILABLE: 'connection',
  ERR_AMQP_CONNECT: 'connection',
  ERR_AMQP_CHANNEL_CLOSED: 'connection',
  // The destination cannot take it as addressed: retrying alone will not help.
  ERR_DESTINATION_NOT_ALLOWED: 'refused',
  ERR_AMQP_UNKNOWN_EXCHANGE: 'refused',
  ERR_AMQP_UNROUTABLE: 'refused',
  ERR_UNKNOWN_TRANSPORT: 'refused',
  ERR_AMQP_NACK: 'amqp_nack',
  ERR_HTTP_CLOSED: 'closed',
  ERR_AMQP_CLOSED: 'closed',
};

export function failureReasonOf(error: unknown): FailureReason {
  if (error === null || typeof error !== 'object') return 'other';
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (code === 'ERR_HTTP_STATUS' && typeof status === 'number') {
    if (status >= 500 && status < 600) return 'http_5xx';
    if (status >= 400 && status < 500) return 'http_4xx';
    return 'other';
  }
  return (typeof code === 'string' ? BY_CODE[code] : undefined) ?? 'other';
}
