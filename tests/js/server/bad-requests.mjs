// The table of malformed, hostile and oversized requests every server the project ships must
// answer with a 4xx (and go on serving). Raw bytes, because Node's own client refuses to send
// most of them. Each: [name, bytes, expected status]. The server under test needs no
// authentication and serves a static folder at / (like scripts/serve.mjs).

const req = (head, body = '') => `${head}\r\nhost: 127.0.0.1\r\nconnection: close\r\n${body === '' ? '\r\n' : body}`;
const get = (target, headers = '') => req(`GET ${target} HTTP/1.1${headers ? `\r\n${headers}` : ''}`);
const post = (target, type, body) => req(
  `POST ${target} HTTP/1.1${type ? `\r\ncontent-type: ${type}` : ''}\r\ncontent-length: ${Buffer.byteLength(body, 'latin1')}`,
  `\r\n${body}`,
);
const json = (body) => post('/v1/commands', 'application/json', body);

const FOUR_MIB = 4 * 1024 * 1024;
const chunk = 'x'.repeat(256 * 1024);
const oversizedChunked = `POST /v1/commands HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\n`
  + 'transfer-encoding: chunked\r\n\r\n'
  + `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(Math.ceil(FOUR_MIB / chunk.length) + 1)
  + '0\r\n\r\n';

export const BAD_REQUESTS = [
  ['truncated percent-encoding in the path (killed the old serve.mjs)', get('/%E0%A4%A'), 400],
  ['invalid percent-encoding in the path', get('/%ZZ'), 400],
  ['percent-encoded invalid UTF-8 in the path', get('/pkg/%C0%AF'), 400],
  ['raw .. traversal', get('/../../etc/passwd'), 400],
  ['encoded ../ traversal under a mount', get('/pkg/..%2F..%2Fetc%2Fpasswd'), 400],
  ['encoded dot segments', get('/%2e%2e/%2e%2e/etc/passwd'), 400],
  ['encoded NUL', get('/index.html%00.png'), 400],
  ['backslash traversal', get('/..%5C..%5Cetc%5Cpasswd'), 400],
  ['absolute-form target', get('http://example.com/'), 400],
  ['asterisk target', req('OPTIONS * HTTP/1.1'), 400],
  ['URL over 8 KiB', get(`/${'a'.repeat(9000)}`), 414],
  ['URL over the header limit', get(`/${'a'.repeat(20_000)}`), 431],
  ['one header over the header limit', get('/v1/info', `x-big: ${'b'.repeat(20_000)}`), 431],
  ['unknown method', req('BREW /v1/info HTTP/1.1'), 400],
  ['not HTTP at all (a TLS ClientHello)', Buffer.from('160301002a0100002603035a', 'hex'), 400],
  ['header without a colon', get('/v1/info', 'this is not a header'), 400],
  ['both content-length and transfer-encoding', req('POST /v1/commands HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\ntransfer-encoding: chunked', '\r\n0\r\n\r\n'), 400],
  ['no host header', 'GET /v1/info HTTP/1.1\r\nconnection: close\r\n\r\n', 400],
  ['WebSocket upgrade', get('/v1/live', 'upgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13'), 400],
  ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nhost: 127.0.0.1:22\r\n\r\n', 405],
  ['unsupported protocol version', get('/v2/info'), 400],
  ['unknown endpoint', get('/v1/nothing-here'), 404],
  ['wrong method on an endpoint', req('DELETE /v1/commands HTTP/1.1'), 405],
  ['GET on the commands endpoint', get('/v1/commands'), 405],
  ['PUT on a static file', req('PUT /index.html HTTP/1.1\r\ncontent-length: 0'), 405],
  ['negative after', get('/v1/events?after=-1'), 400],
  ['non-numeric after', get('/v1/events?after=abc'), 400],
  ['fractional limit', get('/v1/events?limit=1.5'), 400],
  ['limit 0', get('/v1/events?limit=0'), 400],
  ['unsafe integer after', get('/v1/events?after=99999999999999999999'), 400],
  ['parameter given twice', get('/v1/events?after=1&after=2'), 400],
  ['bad percent-encoding in the query', get('/v1/events?after=%E0'), 400],
  ['unknown query parameter', get('/v1/events?from=3'), 400],
  ['access_token outside /v1/live', get('/v1/events?access_token=t'), 400],
  ['access_token and Authorization together', get('/v1/live?access_token=t', 'authorization: Bearer t'), 400],
  ['bad Last-Event-ID', get('/v1/live', 'last-event-id: yesterday'), 400],
  ['text/plain body', post('/v1/commands', 'text/plain', '{"commands":[]}'), 415],
  ['no content-type', post('/v1/commands', '', '{"commands":[]}'), 415],
  ['JSON that does not parse', json('{"commands": ['), 400],
  ['JSON array body', json('[1, 2]'), 400],
  ['JSON null body', json('null'), 400],
  ['JSON string body', json('"commands"'), 400],
  ['invalid UTF-8 body', post('/v1/commands', 'application/json', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')), 400],
  ['JSON nested 10,000 deep', json(`{"commands":${'['.repeat(10_000)}${']'.repeat(10_000)}}`), 400],
  ['commands not an array', json('{"commands": {"0": {}}}'), 400],
  ['a command that is not an object', json('{"commands": [42]}'), 400],
  ['a command without commandId', json('{"commands": [{"streamType": "BankAccount", "streamId": "a", "command": {"type": "deposit", "amount": 1}}]}'), 400],
  ['a commandId over 256 characters', json(`{"commands": [{"commandId": "${'c'.repeat(257)}", "streamType": "BankAccount", "streamId": "a", "command": {"type": "deposit", "amount": 1}}]}`), 400],
  ['a declared body of 100 MiB', req('POST /v1/commands HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 104857600', '\r\n{"commands":'), 413],
  ['a chunked body over 4 MiB', oversizedChunked, 413],
  ['a batch over 1,000 commands', json(JSON.stringify({ commands: Array.from({ length: 1001 }, (_, i) => ({ commandId: `b${i}` })) })), 413],
];
