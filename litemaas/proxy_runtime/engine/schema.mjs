// Just enough of schema.prisma to translate requests: models, their fields and types,
// enums and the datasource. The engine itself validates the full schema.

const SCALARS = new Set(['String', 'Boolean', 'Int', 'BigInt', 'Float', 'Decimal', 'DateTime', 'Json', 'Bytes'])

function stripComments(text) {
  return text
    .split('\n')
    .map((line) => {
      // '//' outside of a string literal starts a comment.
      let inString = false
      for (let i = 0; i < line.length - 1; i++) {
        const c = line[i]
        if (c === '"' && line[i - 1] !== '\\') inString = !inString
        if (!inString && c === '/' && line[i + 1] === '/') return line.slice(0, i)
      }
      return line
    })
    .join('\n')
}

function blocks(text) {
  const out = []
  const re = /^\s*(model|enum|datasource|generator|type|view)\s+(\w+)\s*\{/gm
  let m
  while ((m = re.exec(text))) {
    let depth = 1
    let i = re.lastIndex
    while (i < text.length && depth > 0) {
      if (text[i] === '{') depth++
      else if (text[i] === '}') depth--
      i++
    }
    out.push({ kind: m[1], name: m[2], body: text.slice(re.lastIndex, i - 1) })
    re.lastIndex = i
  }
  return out
}

export function parseSchema(text) {
  const clean = stripComments(text)
  const schema = { models: {}, enums: new Set(), datasource: { name: 'db' } }
  const all = blocks(clean)
  for (const b of all) if (b.kind === 'enum') schema.enums.add(b.name)
  const modelNames = new Set(all.filter((b) => b.kind === 'model' || b.kind === 'view').map((b) => b.name))
  for (const b of all) {
    if (b.kind === 'datasource') {
      schema.datasource.name = b.name
      const url = b.body.match(/url\s*=\s*(env\(\s*"([^"]+)"\s*\)|"([^"]*)")/)
      if (url) {
        if (url[2]) schema.datasource.urlEnv = url[2]
        else schema.datasource.url = url[3]
      }
      const provider = b.body.match(/provider\s*=\s*"([^"]+)"/)
      schema.datasource.provider = provider?.[1]
    }
    if (b.kind !== 'model' && b.kind !== 'view') continue
    const fields = {}
    for (const raw of b.body.split('\n')) {
      const line = raw.trim()
      if (!line || line.startsWith('@@')) continue
      const m = line.match(/^(\w+)\s+(\w+)(\[\])?(\?)?/)
      if (!m) continue
      const [, name, type, list] = m
      fields[name] = {
        name,
        type,
        isList: Boolean(list),
        kind: modelNames.has(type) ? 'object' : schema.enums.has(type) ? 'enum' : SCALARS.has(type) ? 'scalar' : 'unsupported',
      }
    }
    schema.models[b.name] = { name: b.name, fields }
  }
  return schema
}

// The WebAssembly engine needs the driverAdapters preview feature to accept a JS adapter;
// the schema's generators are otherwise irrelevant to it.
export function prepareDatamodel(text) {
  if (/previewFeatures\s*=/.test(text)) {
    return text.replace(/previewFeatures\s*=\s*\[([^\]]*)\]/g, (all, inner) =>
      /driverAdapters/.test(inner) ? all : `previewFeatures = [${inner.trim() ? inner.trim() + ', ' : ''}"driverAdapters"]`,
    )
  }
  return text.replace(/generator\s+(\w+)\s*\{/, (all) => `${all}\n  previewFeatures = ["driverAdapters"]`)
}
