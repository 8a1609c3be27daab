// Offline Prisma query engine for prisma-client-py.
//
// Prisma's native engines are downloaded from a CDN that air-gapped clusters cannot reach.
// This sidecar runs Prisma's official WebAssembly build of the *same* engine commit
// (393aa359, Prisma 5.17.0) against PostgreSQL through @prisma/adapter-pg, and serves the
// native binary engine's HTTP protocol to prisma-client-py:
//   GET /status, POST / (GraphQL-protocol bodies and batches), POST /transaction/start,
//   POST /transaction/{id}/commit|rollback, GET /metrics.
// The WebAssembly engine speaks only Prisma's JSON protocol, so requests are translated
// (graphql.mjs) and results unwrapped back to what the GraphQL protocol returned.

import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { bindAdapter } from '@prisma/driver-adapter-utils'

import { parseSchema, prepareDatamodel } from './schema.mjs'
import { parseGraphQL, toJsonProtocol, fromJsonProtocol, EngineRequestError } from './graphql.mjs'
import { installColumnTypeFallback } from './pgtypes.mjs'

export const ENGINE_COMMIT = '393aa359c9ad4a4bb28630fb5613f9c281cde053'
const require = createRequire(import.meta.url)

function log(level, event, fields = {}) {
  // One JSON line per event on stderr; never the database password.
  process.stderr.write(JSON.stringify({ level, event, component: 'offline-engine', ...fields }) + '\n')
}

function parseArgs(argv) {
  const args = { port: 0, host: '127.0.0.1' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '-p' || a === '--port') args.port = Number(argv[++i])
    else if (a === '--host' || a === '-H') args.host = argv[++i]
    else if (a === '--datamodel-path') args.datamodelPath = argv[++i]
  }
  return args
}

// prisma-client-py hands the URL over through the environment: DATABASE_URL (the schema's
// env("...")), or OVERWRITE_DATASOURCES when the client was built with datasource={url}.
export function resolveDatabaseUrl(schema, env = process.env) {
  if (env.OVERWRITE_DATASOURCES) {
    try {
      const overrides = JSON.parse(env.OVERWRITE_DATASOURCES)
      const match = overrides.find((o) => o.name === schema.datasource.name) ?? overrides[0]
      if (match?.url) return match.url
    } catch {
      throw new Error('OVERWRITE_DATASOURCES is not valid JSON')
    }
  }
  const ds = schema.datasource
  if (ds.urlEnv) {
    const url = env[ds.urlEnv]
    if (!url) throw new Error(`environment variable ${ds.urlEnv} (datasource url) is not set`)
    return url
  }
  if (ds.url) return ds.url
  throw new Error('the datasource has no url')
}

// Prisma's URL parameters (connection_limit, pool_timeout, schema, ...) mean nothing to
// node-postgres; translate the ones that matter and drop the rest.
export function poolConfig(rawUrl) {
  const url = new URL(rawUrl)
  const params = url.searchParams
  const cfg = { max: 10, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 300_000 }
  let schemaName
  const take = (k) => {
    const v = params.get(k)
    params.delete(k)
    return v
  }
  const limit = take('connection_limit')
  if (limit && Number(limit) > 0) cfg.max = Number(limit)
  const poolTimeout = take('pool_timeout')
  if (poolTimeout && Number(poolTimeout) > 0) cfg.connectionTimeoutMillis = Number(poolTimeout) * 1000
  const connectTimeout = take('connect_timeout')
  if (connectTimeout && Number(connectTimeout) > 0) cfg.connectionTimeoutMillis = Number(connectTimeout) * 1000
  schemaName = take('schema') ?? undefined
  for (const k of ['pgbouncer', 'socket_timeout', 'statement_cache_size', 'max_connection_lifetime',
    'max_idle_connection_lifetime', 'single_use_connections']) take(k)
  const options = params.get('options')
  if (options) {
    cfg.options = options
    params.delete('options')
  }
  cfg.connectionString = url.toString()
  return { cfg, schemaName }
}

async function loadWasmEngine() {
  const bgPath = require.resolve('@prisma/query-engine-wasm/postgresql/query_engine_bg.js')
  const bg = await import(bgPath)
  const wasmPath = path.join(path.dirname(bgPath), 'query_engine_bg.wasm')
  const bytes = fs.readFileSync(wasmPath)
  const { instance } = await WebAssembly.instantiate(bytes, { './query_engine_bg.js': bg })
  bg.__wbg_set_wasm(instance.exports)
  return bg
}

function readBody(req, limit = 64 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (c) => {
      size += c.length
      if (size > limit) {
        reject(new EngineRequestError('request body too large'))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function send(res, status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function errorBody(message, code) {
  const user_facing_error = { is_panic: false, message, meta: {} }
  if (code) user_facing_error.error_code = code
  return { errors: [{ error: message, user_facing_error }] }
}

class Metrics {
  constructor() {
    this.queries = 0
    this.errors = 0
    this.transactions = 0
    this.durationMs = 0
  }
  json() {
    return {
      counters: [
        { key: 'prisma_client_queries_total', labels: {}, value: this.queries, description: 'queries' },
        { key: 'prisma_client_queries_errors_total', labels: {}, value: this.errors, description: 'query errors' },
        { key: 'prisma_client_transactions_total', labels: {}, value: this.transactions, description: 'transactions' },
      ],
      gauges: [],
      histograms: [],
    }
  }
  prometheus(labels) {
    const l = Object.entries(labels ?? {}).map(([k, v]) => `${k}="${String(v).replace(/"/g, '')}"`).join(',')
    const lbl = l ? `{${l}}` : ''
    return [
      '# TYPE prisma_client_queries_total counter',
      `prisma_client_queries_total${lbl} ${this.queries}`,
      '# TYPE prisma_client_queries_errors_total counter',
      `prisma_client_queries_errors_total${lbl} ${this.errors}`,
      '# TYPE prisma_client_transactions_total counter',
      `prisma_client_transactions_total${lbl} ${this.transactions}`,
      '# TYPE prisma_client_queries_duration_ms_total counter',
      `prisma_client_queries_duration_ms_total${lbl} ${this.durationMs.toFixed(3)}`,
      '',
    ].join('\n')
  }
}

export async function main(argv = process.argv.slice(2)) {
  const args = parseArgs(argv)
  const dmlPath = args.datamodelPath ?? process.env.PRISMA_DML_PATH
  if (!dmlPath) throw new Error('PRISMA_DML_PATH is not set (path of schema.prisma)')
  const datamodelText = fs.readFileSync(dmlPath, 'utf8')
  const schema = parseSchema(datamodelText)
  const { cfg, schemaName } = poolConfig(resolveDatabaseUrl(schema))

  const bg = await loadWasmEngine()
  const pool = new pg.Pool(cfg)
  pool.on('error', (e) => log('warn', 'pool.idle_client_error', { message: e.message }))
  const adapter = new PrismaPg(pool, schemaName ? { schema: schemaName } : undefined)
  await installColumnTypeFallback(PrismaPg, pool)
  const engine = new bg.QueryEngine(
    { datamodel: prepareDatamodel(datamodelText), logLevel: process.env.RUST_LOG === 'info' ? 'info' : 'error',
      logQueries: Boolean(process.env.LOG_QUERIES) },
    (line) => {
      try {
        const evt = JSON.parse(line)
        if (evt.level === 'ERROR' || evt.level === 'error') log('error', 'engine.log', { message: evt.message })
      } catch {
        /* non-JSON engine log lines are ignored */
      }
    },
    bindAdapter(adapter),
  )
  await engine.connect('{}')
  const metrics = new Metrics()
  const trace = '{}'

  async function runQuery(bodyText, txId) {
    const request = JSON.parse(bodyText)
    if (Array.isArray(request.batch)) {
      const parsed = request.batch.map((q) => parseGraphQL(q.query))
      const batch = parsed.map((p) => toJsonProtocol(p, schema))
      const payload = { batch, transaction: request.transaction ? { isolationLevel: request.isolation_level ?? null } : null }
      if (!request.transaction) delete payload.transaction
      const out = JSON.parse(await engine.query(JSON.stringify(payload), trace, txId ?? undefined))
      if (out.errors) return out
      const results = (out.batchResult ?? []).map((item, i) => {
        if (item.errors) return item
        return { data: fromJsonProtocol(item.data, parsed[i]) }
      })
      const failed = results.find((r) => r.errors)
      if (failed && request.transaction) return { errors: failed.errors }
      return { batchResult: results }
    }
    const parsed = parseGraphQL(request.query)
    const jsonRequest = toJsonProtocol(parsed, schema)
    const out = JSON.parse(await engine.query(JSON.stringify(jsonRequest), trace, txId ?? undefined))
    if (out.errors) return out
    return { data: fromJsonProtocol(out.data, parsed) }
  }

  const server = http.createServer(async (req, res) => {
    const started = performance.now()
    try {
      const url = new URL(req.url, 'http://engine')
      const route = url.pathname
      if (req.method === 'GET' && route === '/status') return send(res, 200, { status: 'ok' })
      if (req.method === 'GET' && route === '/metrics') {
        const body = await readBody(req)
        const labels = body ? JSON.parse(body) : undefined
        if (url.searchParams.get('format') === 'prometheus') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
          return res.end(metrics.prometheus(labels))
        }
        return send(res, 200, metrics.json())
      }
      if (req.method === 'POST' && route === '/') {
        const body = await readBody(req)
        metrics.queries++
        const txId = req.headers['x-transaction-id']
        const out = await runQuery(body, Array.isArray(txId) ? txId[0] : txId)
        if (out.errors) metrics.errors++
        return send(res, 200, out)
      }
      if (req.method === 'POST' && route === '/transaction/start') {
        const body = await readBody(req)
        const opts = body ? JSON.parse(body) : {}
        const input = { max_wait: opts.max_wait ?? 2000, timeout: opts.timeout ?? 5000 }
        if (opts.isolation_level) input.isolation_level = opts.isolation_level
        metrics.transactions++
        return send(res, 200, await engine.startTransaction(JSON.stringify(input), trace))
      }
      const m = route.match(/^\/transaction\/([^/]+)\/(commit|rollback)$/)
      if (req.method === 'POST' && m) {
        await readBody(req)
        const id = decodeURIComponent(m[1])
        const out = m[2] === 'commit' ? await engine.commitTransaction(id, trace) : await engine.rollbackTransaction(id, trace)
        return send(res, 200, out || '{}')
      }
      return send(res, 404, errorBody(`no route ${req.method} ${route}`))
    } catch (e) {
      metrics.errors++
      if (e instanceof EngineRequestError) {
        // prisma-client-py maps P2009 (query validation) to a FieldNotFoundError/InputError.
        return send(res, 200, errorBody(e.message, 'P2009'))
      }
      log('error', 'engine.request_failed', { message: String(e?.message ?? e) })
      return send(res, 500, errorBody(String(e?.message ?? e)))
    } finally {
      metrics.durationMs += performance.now() - started
    }
  })
  server.keepAliveTimeout = 65_000

  let stopping = false
  async function shutdown(signal) {
    if (stopping) return
    stopping = true
    log('info', 'engine.stopping', { signal })
    server.close()
    server.closeIdleConnections?.()
    const hard = setTimeout(() => process.exit(0), 5000)
    hard.unref()
    try {
      await engine.disconnect(trace)
    } catch {
      /* already disconnected */
    }
    await pool.end().catch(() => {})
    process.exit(0)
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  // prisma-client-py stops us with SIGINT; if its process dies without doing so (SIGKILL,
  // crash), we are re-parented and leave too, so no engine outlives its proxy.
  const parentAtStart = process.ppid
  setInterval(() => {
    if (process.ppid !== parentAtStart) shutdown('parent-exit')
  }, 1000).unref()

  await new Promise((resolve) => server.listen(args.port, args.host, resolve))
  log('info', 'engine.listening', { port: server.address().port, commit: ENGINE_COMMIT })
  return server
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--version') || process.argv.includes('-V')) {
    process.stdout.write(`query-engine ${ENGINE_COMMIT}\n`)
    process.exit(0)
  }
  main().catch((e) => {
    log('error', 'engine.start_failed', { message: String(e?.message ?? e) })
    process.exit(1)
  })
}
