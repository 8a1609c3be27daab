// Translation between prisma-client-py's GraphQL protocol and Prisma's JSON protocol.
//
// prisma-client-py (0.15) renders one operation per request:
//   query|mutation { result: <action><Model>(arg: <json literal> ...) { field rel(args) { ... } } }
// where every leaf value is a JSON literal (json.dumps) and commas are optional. The
// WebAssembly engine accepts only the JSON protocol:
//   {modelName, action, query: {arguments, selection}}
// with typed values ({"$type": "Json"|"DateTime"|..., "value": ...}) and returns results with
// the same wrappers, which the GraphQL protocol never had.

export class EngineRequestError extends Error {}

const ACTIONS = [
  'findUnique', 'findFirst', 'findMany', 'createOne', 'createMany', 'updateOne', 'updateMany',
  'deleteOne', 'deleteMany', 'upsertOne', 'aggregate', 'groupBy',
]
const RAW_ACTIONS = new Set(['queryRaw', 'executeRaw'])

// ---------------------------------------------------------------------------------------------
// Lexer and parser

const PUNCT = new Set(['{', '}', '(', ')', '[', ']', ':'])

function tokenize(src) {
  const tokens = []
  let i = 0
  const n = src.length
  while (i < n) {
    const c = src[i]
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === ',') {
      i++
      continue
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++
      continue
    }
    if (PUNCT.has(c)) {
      tokens.push({ t: c })
      i++
      continue
    }
    if (c === '"') {
      let j = i + 1
      while (j < n && src[j] !== '"') j += src[j] === '\\' ? 2 : 1
      if (j >= n) throw new EngineRequestError('unterminated string in query')
      tokens.push({ t: 'str', v: JSON.parse(src.slice(i, j + 1)) })
      i = j + 1
      continue
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i, i + 400))
      if (!m) throw new EngineRequestError(`bad number at ${i}`)
      tokens.push({ t: 'num', v: m[0] })
      i += m[0].length
      continue
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1
      while (j < n && /[A-Za-z0-9_]/.test(src[j])) j++
      tokens.push({ t: 'name', v: src.slice(i, j) })
      i = j
      continue
    }
    throw new EngineRequestError(`unexpected character ${JSON.stringify(c)} in query`)
  }
  return tokens
}

function number(text) {
  if (/^-?\d+$/.test(text)) {
    const asNum = Number(text)
    if (Number.isSafeInteger(asNum)) return asNum
    return { $type: 'BigInt', value: text }
  }
  return Number(text)
}

class Parser {
  constructor(tokens) {
    this.tokens = tokens
    this.pos = 0
  }
  peek() {
    return this.tokens[this.pos]
  }
  next() {
    const tok = this.tokens[this.pos++]
    if (!tok) throw new EngineRequestError('unexpected end of query')
    return tok
  }
  expect(t) {
    const tok = this.next()
    if (tok.t !== t) throw new EngineRequestError(`expected ${t} but found ${tok.t === 'name' ? tok.v : tok.t}`)
    return tok
  }
  name() {
    return this.expect('name').v
  }
  value() {
    const tok = this.next()
    switch (tok.t) {
      case 'str':
        return tok.v
      case 'num':
        return number(tok.v)
      case 'name':
        if (tok.v === 'true') return true
        if (tok.v === 'false') return false
        if (tok.v === 'null') return null
        return tok.v // enum literal
      case '{': {
        const obj = {}
        while (this.peek()?.t !== '}') {
          const key = this.name()
          this.expect(':')
          obj[key] = this.value()
        }
        this.next()
        return obj
      }
      case '[': {
        const arr = []
        while (this.peek()?.t !== ']') arr.push(this.value())
        this.next()
        return arr
      }
      default:
        throw new EngineRequestError(`unexpected ${tok.t} in value`)
    }
  }
  args() {
    const args = {}
    this.expect('(')
    while (this.peek()?.t !== ')') {
      const key = this.name()
      this.expect(':')
      args[key] = this.value()
    }
    this.next()
    return args
  }
  selectionSet() {
    const fields = []
    this.expect('{')
    while (this.peek()?.t !== '}') fields.push(this.field())
    this.next()
    return fields
  }
  field() {
    let name = this.name()
    let alias
    if (this.peek()?.t === ':') {
      this.next()
      alias = name
      name = this.name()
    }
    const args = this.peek()?.t === '(' ? this.args() : undefined
    const selection = this.peek()?.t === '{' ? this.selectionSet() : undefined
    return { alias, name, args, selection }
  }
}

export function parseGraphQL(query) {
  if (typeof query !== 'string') throw new EngineRequestError('query must be a string')
  const p = new Parser(tokenize(query))
  let operation = 'query'
  if (p.peek()?.t === 'name' && (p.peek().v === 'query' || p.peek().v === 'mutation')) operation = p.next().v
  const fields = p.selectionSet()
  if (p.peek()) throw new EngineRequestError('trailing content after the operation')
  if (fields.length !== 1) throw new EngineRequestError('exactly one root field is supported per request')
  return { operation, ...fields[0] }
}

// ---------------------------------------------------------------------------------------------
// GraphQL -> JSON protocol

function splitRootField(name, schema) {
  if (RAW_ACTIONS.has(name)) return { action: name }
  let base = name
  let orThrow = false
  if (base.endsWith('OrThrow')) {
    base = base.slice(0, -'OrThrow'.length)
    orThrow = true
  }
  for (const action of ACTIONS) {
    if (!base.startsWith(action)) continue
    const model = base.slice(action.length)
    if (schema.models[model]) {
      if (orThrow && action !== 'findUnique' && action !== 'findFirst') break
      return { action: orThrow ? `${action}OrThrow` : action, modelName: model }
    }
  }
  throw new EngineRequestError(`unknown operation ${name}`)
}

// Values of these types are wrapped so the engine never has to guess what a string means.
const TYPED = { Json: 'Json', DateTime: 'DateTime', BigInt: 'BigInt', Decimal: 'Decimal', Bytes: 'Bytes' }
// Filter operators whose operand is not a value of the field's own type.
const UNTYPED_OPERATORS = new Set([
  'path', 'mode', 'string_contains', 'string_starts_with', 'string_ends_with', 'array_contains',
  'array_starts_with', 'array_ends_with', 'isSet', 'isEmpty', 'has', 'hasEvery', 'hasSome',
])
// Argument keys whose object keys name fields but whose values are not field values.
const NON_VALUE_KEYS = new Set(['orderBy', 'by', 'distinct', 'select', 'include', '_count', '_sum', '_avg', '_min', '_max'])

function wrapScalar(type, v) {
  if (v === null || v === undefined) return type === 'Json' ? { $type: 'Enum', value: 'DbNull' } : v
  if (typeof v === 'object' && v.$type) return v
  if (type === 'Json') return { $type: 'Json', value: typeof v === 'string' ? v : JSON.stringify(v) }
  if (type === 'BigInt' && typeof v === 'number') return { $type: 'BigInt', value: String(v) }
  if (type === 'Decimal' && (typeof v === 'number' || typeof v === 'string')) return { $type: 'Decimal', value: String(v) }
  if (typeof v === 'string') return { $type: TYPED[type], value: v }
  return v
}

function wrapFieldValue(field, value) {
  const type = TYPED[field.type]
  if (!type) return value
  if (field.isList && Array.isArray(value)) return value.map((v) => wrapScalar(type, v))
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !value.$type) {
    // A filter ({equals, gte, in, not, ...}) or an update operation ({set, increment, ...}).
    const out = {}
    for (const [op, operand] of Object.entries(value)) {
      if (UNTYPED_OPERATORS.has(op)) out[op] = operand
      else if (Array.isArray(operand) && (op === 'in' || op === 'notIn' || field.isList)) out[op] = operand.map((v) => wrapScalar(type, v))
      else if (operand !== null && typeof operand === 'object' && !Array.isArray(operand) && !operand.$type) out[op] = wrapFieldValue(field, operand)
      else out[op] = type === 'Json' && operand === null ? { $type: 'Enum', value: 'DbNull' } : wrapScalar(type, operand)
    }
    return out
  }
  return wrapScalar(type, value)
}

// Walks arguments with the model they apply to: keys that are fields of the current model
// are typed by that field (relations switch model); other keys (where, data, AND, create,
// connectOrCreate, ...) keep the current model.
function typeArguments(value, model, schema) {
  if (Array.isArray(value)) return value.map((v) => typeArguments(v, model, schema))
  if (value === null || typeof value !== 'object' || value.$type) return value
  const out = {}
  for (const [key, v] of Object.entries(value)) {
    const field = model?.fields[key]
    if (NON_VALUE_KEYS.has(key)) out[key] = v
    else if (field?.kind === 'object') out[key] = typeArguments(v, schema.models[field.type], schema)
    else if (field?.kind === 'scalar') out[key] = wrapFieldValue(field, v)
    else out[key] = typeArguments(v, model, schema)
  }
  return out
}

function selectionOf(fields, model, schema) {
  const out = {}
  for (const f of fields ?? []) {
    if (!f.args && !f.selection) {
      out[f.name] = true
      continue
    }
    const rel = model?.fields[f.name]
    const target = rel?.kind === 'object' ? schema.models[rel.type] : model
    const sel = {}
    if (f.args) sel.arguments = typeArguments(f.args, target, schema)
    sel.selection = selectionOf(f.selection, target, schema)
    out[f.name] = sel
  }
  return out
}

export function toJsonProtocol(parsed, schema) {
  const { action, modelName } = splitRootField(parsed.name, schema)
  if (RAW_ACTIONS.has(action)) {
    const args = { ...(parsed.args ?? {}) }
    if (args.parameters === undefined) args.parameters = '[]'
    else if (typeof args.parameters !== 'string') args.parameters = JSON.stringify(args.parameters)
    return { action, query: { arguments: args, selection: {} } }
  }
  const model = schema.models[modelName]
  const query = { arguments: typeArguments(parsed.args ?? {}, model, schema), selection: selectionOf(parsed.selection, model, schema) }
  if (Object.keys(query.selection).length === 0) query.selection = { $scalars: true }
  return { modelName, action, query }
}

// ---------------------------------------------------------------------------------------------
// JSON protocol results -> GraphQL protocol results

export function unwrap(value) {
  if (Array.isArray(value)) return value.map(unwrap)
  if (value === null || typeof value !== 'object') return value
  if (typeof value.$type === 'string' && 'value' in value) return value.value
  const out = {}
  for (const [k, v] of Object.entries(value)) out[k] = unwrap(v)
  return out
}

export function fromJsonProtocol(data, parsed) {
  if (!data || typeof data !== 'object') return data
  const keys = Object.keys(data)
  const raw = parsed.name in data ? data[parsed.name] : data[keys[0]]
  return { [parsed.alias ?? parsed.name]: unwrap(raw) }
}
