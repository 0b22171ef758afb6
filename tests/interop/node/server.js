'use strict';

/*
 * Interop authorization server for the MdNotes SDK tests, built on @node-oauth/oauth2-server
 * with Node's own `http` module and the library's Request / Response classes (no Express).
 *
 * Routes (BASE = /oauth2/non-auth-server):
 *   POST BASE/token   password and refresh_token grants (the library's token handler)
 *   GET  BASE/status  bearer-protected (the library's authenticate handler)
 *   GET  BASE/user    bearer-protected
 *   GET  /_stats      token requests counted by grant_type, every exchange seen (for the tests)
 *
 * Usage: node server.js [--port N] [--token-lifetime SECONDS] [--no-rotate]
 *                       [--basic-decoding form|uri|none] [--watch-stdin]
 * The client(s) and the user come from the environment variable NODE_INTEROP_CONFIG, a JSON
 * object {"clients": [[id, secret], ...], "username": ..., "password": ...} (JSON so that
 * non-ASCII characters travel as \u escapes and never depend on the locale).
 * Prints one line "LISTENING <port>" once listening on 127.0.0.1. Exits on SIGTERM or SIGINT, and
 * with --watch-stdin also when its stdin closes (the test process went away, even killed).
 */

const crypto = require('crypto');
const http = require('http');
const os = require('os');
const basicAuth = require('basic-auth');
const OAuth2Server = require('@node-oauth/oauth2-server');
const { Request, Response, UnauthorizedRequestError } = OAuth2Server;
const LIBRARY_VERSION = require('@node-oauth/oauth2-server/package.json').version;

const BASE_PATH = '/oauth2/non-auth-server';
const TOKEN_PATH = BASE_PATH + '/token';

// ------------------------------------------------------------------ configuration

function parseArgs(argv) {
  const options = { port: 0, tokenLifetime: 3600, rotate: true, basicDecoding: 'form', watchStdin: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--port') {
      options.port = Number(argv[++i]);
    } else if (arg === '--token-lifetime') {
      options.tokenLifetime = Number(argv[++i]);
    } else if (arg === '--no-rotate') {
      options.rotate = false;
    } else if (arg === '--watch-stdin') {
      options.watchStdin = true;
    } else if (arg === '--basic-decoding') {
      options.basicDecoding = argv[++i];
    } else {
      throw new Error('unknown argument: ' + arg);
    }
  }
  if (!Number.isInteger(options.port) || options.port < 0) {
    throw new Error('--port must be a non-negative integer');
  }
  if (!(options.tokenLifetime > 0)) {
    throw new Error('--token-lifetime must be a positive number of seconds');
  }
  if (!['form', 'uri', 'none'].includes(options.basicDecoding)) {
    throw new Error('--basic-decoding must be form, uri or none');
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const config = JSON.parse(process.env.NODE_INTEROP_CONFIG || '{}');
if (!Array.isArray(config.clients) || !config.clients.length || !config.username || !config.password) {
  console.error('NODE_INTEROP_CONFIG must give clients, username and password');
  process.exit(2);
}

const USER = {
  id: 1,
  name: 'Interop User',
  email: 'interop-user@example.test',
  created_at: '2024-01-01T00:00:00Z',
  updated_at: '2024-01-02T00:00:00Z',
};

// ------------------------------------------------------------------ the model

function same(given, expected) {
  // Constant-time comparison, as a real server would do.
  if (typeof given !== 'string') {
    return false;
  }
  const a = crypto.createHash('sha256').update(given, 'utf8').digest();
  const b = crypto.createHash('sha256').update(expected, 'utf8').digest();
  return crypto.timingSafeEqual(a, b);
}

// The library hands getClient() the Basic credentials exactly as the `basic-auth` package split
// them: base64-decoded, cut at the first ':', NOT form-decoded. RFC 6749 §2.3.1 has the client
// form-encode both halves, and the maintainers leave the decoding to the model
// (node-oauth/node-oauth2-server#213). The model's decoding is selectable:
//   form  RFC 6749 Appendix B: '+' is a space, then %XX (what the RFC asks)
//   uri   decodeURIComponent only (the workaround posted in #213: '+' stays '+')
//   none  compare what the library hands over (a model that ignores the question)
const DECODERS = {
  form: (value) => decodeURIComponent(value.replace(/\+/g, ' ')),
  uri: (value) => decodeURIComponent(value),
  none: (value) => value,
};

const clients = config.clients.map(([id, secret], index) => ({
  id: 'client-' + index, // internal id: the library compares refresh tokens' client.id to it
  clientId: id,
  clientSecret: secret,
  grants: ['password', 'refresh_token'],
}));
const accessTokens = new Map();
const refreshTokens = new Map();

// A model per request, so getClient knows whether the credentials came from the Basic header
// (the library prefers it whenever basic-auth can parse it) or from the form body, which the
// body parser already form-decoded.
function modelFor(viaBasic) {
  return {
    async getClient(clientId, clientSecret) {
      let id = clientId;
      let secret = clientSecret;
      if (viaBasic) {
        try {
          id = DECODERS[options.basicDecoding](clientId);
          secret = DECODERS[options.basicDecoding](clientSecret || '');
        } catch (e) {
          return null; // malformed %-escape: not our client
        }
      }
      // Look the client up by id; check the secret in constant time.
      const client = clients.find((candidate) => same(id, candidate.clientId));
      if (!client || !same(secret, client.clientSecret)) {
        return null;
      }
      return client;
    },

    async getUser(username, password) {
      if (same(username, config.username) && same(password, config.password)) {
        return { ...USER };
      }
      return null;
    },

    async saveToken(token, client, user) {
      const saved = { ...token, client, user };
      accessTokens.set(token.accessToken, saved);
      if (token.refreshToken) {
        refreshTokens.set(token.refreshToken, saved);
      }
      return saved;
    },

    async getAccessToken(accessToken) {
      return accessTokens.get(accessToken) || null;
    },

    async getRefreshToken(refreshToken) {
      return refreshTokens.get(refreshToken) || null;
    },

    async revokeToken(token) {
      return refreshTokens.delete(token.refreshToken);
    },
  };
}

const oauth = new OAuth2Server({
  model: modelFor(false),
  accessTokenLifetime: options.tokenLifetime,
  alwaysIssueNewRefreshToken: options.rotate,
});

// ------------------------------------------------------------------ recording

const stats = { token_requests: {}, exchanges: [] };

function record(req, path, rawBody, form) {
  const exchange = {
    method: req.method,
    path,
    authorization: req.headers.authorization || null,
    content_type: req.headers['content-type'] || null,
    accept: req.headers.accept || null,
    body: rawBody,
    status: null,
    response_headers: null,
    response_body: null,
  };
  stats.exchanges.push(exchange);
  if (req.method === 'POST' && path === TOKEN_PATH) {
    const grantType = form.get('grant_type') || 'None';
    stats.token_requests[grantType] = (stats.token_requests[grantType] || 0) + 1;
  }
  return exchange;
}

// ------------------------------------------------------------------ HTTP

function statusPayload() {
  return {
    app: 'MdNotes',
    moto: 'Note it down, interop edition',
    notes: 0,
    users: 1,
    time: new Date().toISOString(),
    os: os.platform(),
    php_version: 'n/a',
    status: 'ok',
  };
}

const RESOURCES = { '/status': statusPayload, '/user': () => ({ ...USER }) };

function send(res, exchange, status, headers, body) {
  const out = { ...headers };
  let text = '';
  if (body !== undefined) {
    text = JSON.stringify(body);
    out['content-type'] = out['content-type'] || 'application/json; charset=utf-8';
  }
  out['content-length'] = Buffer.byteLength(text);
  if (exchange) {
    exchange.status = status;
    exchange.response_headers = out;
    exchange.response_body = text;
  }
  res.writeHead(status, out);
  res.end(text);
}

// What @node-oauth/express-oauth-server does with a library error: the headers the library set
// on its Response (WWW-Authenticate), the error's own status code, and {error, error_description}
// as the body, except for UnauthorizedRequestError (no credentials at all), which gets no body
// as the library's documentation asks (RFC 6750 §3.1).
function sendError(res, exchange, error, response) {
  const status = error.code || 500;
  if (error instanceof UnauthorizedRequestError) {
    return send(res, exchange, status, response.headers);
  }
  return send(res, exchange, status, response.headers, { error: error.name, error_description: error.message });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const rawBody = Buffer.concat(chunks).toString('utf8');
  const isForm = /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] || '');
  const form = new URLSearchParams(isForm ? rawBody : '');

  if (req.method === 'GET' && url.pathname === '/_stats') {
    return send(res, null, 200, {}, { library: '@node-oauth/oauth2-server', version: LIBRARY_VERSION, ...stats });
  }

  const exchange = record(req, url.pathname, rawBody, form);
  const request = new Request({
    method: req.method,
    headers: req.headers,
    query: Object.fromEntries(url.searchParams),
    body: Object.fromEntries(form),
  });
  const response = new Response();

  if (url.pathname === TOKEN_PATH) {
    if (req.method !== 'POST') {
      return send(res, exchange, 405, { allow: 'POST' }, { error: 'method_not_allowed' });
    }
    try {
      await oauth.token(request, response, { model: modelFor(basicAuth(req) !== undefined) });
      return send(res, exchange, response.status, response.headers, response.body);
    } catch (error) {
      return sendError(res, exchange, error, response);
    }
  }

  const resource = url.pathname.startsWith(BASE_PATH) && RESOURCES[url.pathname.slice(BASE_PATH.length)];
  if (resource) {
    if (req.method !== 'GET') {
      return send(res, exchange, 405, { allow: 'GET' }, { error: 'method_not_allowed' });
    }
    try {
      await oauth.authenticate(request, response);
    } catch (error) {
      return sendError(res, exchange, error, response);
    }
    return send(res, exchange, 200, response.headers, resource());
  }

  return send(res, exchange, 404, {}, { error: 'not_found' });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error(error);
    if (!res.headersSent) {
      send(res, null, 500, {}, { error: 'server_error' });
    }
  });
});

function shutdown() {
  server.close();
  process.exit(0);
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (options.watchStdin) {
  // The test process holds our stdin; when it goes away (even killed), so do we.
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

server.listen(options.port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
