/** What is shown of destinations, URLs and error texts carries no secrets. */
import { describe, expect, it } from 'vitest';
import { describeDestination } from '../../delivery/destination.js';
import { redactDestination, redactHeaders, redactText, redactUrl } from '../../delivery/redaction.js';

describe('redaction', () => {
  it('masks URL passwords and secret-named query and fragment parameters, keeping the rest', () => {
    expect(redactUrl('https://user:pw@host/path?token=abc&x=1')).toBe('https://user:***@host/path?token=***&x=1');
    expect(redactUrl('https://user:pw@host/path?token=abc&x=1', { username: true })).toBe('https://***:***@host/path?token=***&x=1');
    expect(redactUrl('postgres://app@db:5432/prod?password=s3&sslmode=require')).toBe('postgres://app@db:5432/prod?password=***&sslmode=require');
    expect(redactUrl('https://h/?api_key=1&apikey=2&key=3&sig=4&signature=5&access_token=6&X-Amz-Credential=7&page=2')).toBe(
      'https://h/?api_key=***&apikey=***&key=***&sig=***&signature=***&access_token=***&X-Amz-Credential=***&page=2',
    );
    expect(redactUrl('https://h/cb#access_token=abc&state=1')).toBe('https://h/cb#access_token=***&state=1');
    expect(redactUrl('https://h/plain?x=1')).toBe('https://h/plain?x=1');
    expect(redactUrl('not a url //u:secret@x ?password=p')).toBe('not a url //u:***@x ?password=***');
  });

  it('masks credential-like headers', () => {
    expect(
      redactHeaders({
        Authorization: 'Bearer s',
        'Proxy-Authorization': 'p',
        Cookie: 'c',
        'Set-Cookie': 'c',
        'X-Api-Key': 'k',
        'X-Auth-Token': 't',
        'Private-Token': 't',
        'X-Client-Secret': 's',
        'X-Trace-Id': 'keep',
        Accept: 'keep',
      }),
    ).toEqual({
      Authorization: '[redacted]',
      'Proxy-Authorization': '[redacted]',
      Cookie: '[redacted]',
      'Set-Cookie': '[redacted]',
      'X-Api-Key': '[redacted]',
      'X-Auth-Token': '[redacted]',
      'Private-Token': '[redacted]',
      'X-Client-Secret': '[redacted]',
      'X-Trace-Id': 'keep',
      Accept: 'keep',
    });
  });

  it('redacts destinations (user names of http URLs too) without changing the stored one', () => {
    const destination = { transport: 'http', url: 'https://ghp_token@host/x?token=abc', headers: { Authorization: 'Bearer s3cret' } };
    expect(redactDestination(destination)).toEqual({ transport: 'http', url: 'https://***@host/x?token=***', headers: { Authorization: '[redacted]' } });
    expect(destination.headers.Authorization).toBe('Bearer s3cret');
    expect(redactDestination('/user/actor')).toBe('/user/actor');
    expect(describeDestination(destination)).toBe('http:{"url":"https://***@host/x?token=***","headers":{"Authorization":"[redacted]"}}');
    expect(describeDestination({ transport: 'amqp', queue: 'orders' })).toBe('amqp:{"queue":"orders"}');
  });

  it('redacts URLs and bearer credentials inside free text, leaving JSON escapes intact', () => {
    expect(redactText('POST https://u:pw@h/p?token=abc answered 500')).toBe('POST https://***:***@h/p?token=*** answered 500');
    expect(redactText('sent Authorization: Bearer abc.def-ghi')).toBe('sent Authorization: Bearer [redacted]');
    const line = JSON.stringify({ msg: JSON.stringify({ url: 'https://u:pw@h/?sig=x' }) });
    expect(JSON.parse(redactText(line))).toEqual({ msg: '{"url":"https://***:***@h/?sig=***"}' });
  });
});
