import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { redactUrl, redactUrlCredentials } from '../src/config/redact-url';
import { basicAuthorization, withoutUserinfo } from '../src/mcp/transports';
import { createNodeLogger } from '../src/node/logger';

describe('URL credentials', () => {
  it('redactUrl keeps scheme, host and path only', () => {
    expect(redactUrl('https://user:secret@mcp.example.com:8443/mcp?token=t#f')).toBe(
      'https://mcp.example.com:8443/mcp',
    );
    expect(redactUrl('not a url')).toBe('[unparseable URL]');
  });

  it('redactUrlCredentials strips the userinfo of every URL in a text, an @ in the password included', () => {
    expect(redactUrlCredentials('connect http://u:p@ss@10.0.0.1:5/mcp then redis://:pw@r:6379/0 failed')).toBe(
      'connect http://10.0.0.1:5/mcp then redis://r:6379/0 failed',
    );
    expect(redactUrlCredentials('GET http://host/p?mail=a@b.c and me@example.com')).toBe(
      'GET http://host/p?mail=a@b.c and me@example.com',
    );
  });

  it('turns userinfo into a Basic header (percent-decoded, UTF-8) and a URL without it', () => {
    const url = new URL('http://gate%40way:s%3Acr%C3%A9t@127.0.0.1/mcp');
    expect(basicAuthorization(url)).toBe(`Basic ${Buffer.from('gate@way:s:crét').toString('base64')}`);
    expect(withoutUserinfo(url).href).toBe('http://127.0.0.1/mcp');
    expect(basicAuthorization(new URL('http://127.0.0.1/mcp'))).toBeUndefined();
  });

  it('the Node logger removes URL credentials from logged errors', () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        out += chunk;
        done();
      },
    });
    const logger = createNodeLogger('info', sink);
    logger.warn({ err: { message: 'fetch http://u:hunter2@h/mcp failed', stack: 'at http://u:hunter2@h/' } }, 'mcp');
    logger.warn({ runId: 'r', error: 'MCP server unavailable: ws://u:hunter2@h/mcp' }, 'retry');
    logger.info({ path: '/profile' }, 'request');
    expect(out).not.toContain('hunter2');
    expect(out).toContain('fetch http://h/mcp failed');
    expect(out).toContain('"path":"/profile"');
  });
});
