// @prisma/adapter-pg 5.17 rejects raw-query columns of types it has no mapping for
// (name[], timestamptz[], regclass, ...) with "UnsupportedNativeDataType", where the native
// engine returned them. Raw queries in LiteLLM read catalog views that produce such
// columns, so unknown types are handed to the engine as text (arrays as text arrays).

import pgArray from 'postgres-array'

// OIDs the adapter maps (src/conversion.ts of @prisma/adapter-pg 5.17.0).
const SUPPORTED = new Set([
  21, 23, 20, 700, 701, 16, 1082, 1083, 1266, 1114, 1184, 1700, 790, 114, 3802, 2950, 26,
  1042, 25, 1043, 1560, 1562, 869, 650, 142, 17,
  1005, 1007, 1021, 1022, 1231, 791, 1000, 1002, 1014, 1009, 1015, 1563, 1561, 1041, 651, 143,
  1182, 1183, 1115, 199, 3807, 1001, 2951, 1016, 1028,
])
const TEXT = 25
const TEXT_ARRAY = 1009

function isSupported(oid) {
  return SUPPORTED.has(oid) || oid >= 10000
}

function asText(v) {
  if (v === null || v === undefined) return null
  if (v instanceof Date) return v.toISOString()
  if (Buffer.isBuffer(v)) return v.toString('hex')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

export async function installColumnTypeFallback(PrismaPg, pool) {
  // Array types are known to the catalog; read them once.
  const { rows } = await pool.query("SELECT oid::int AS oid FROM pg_type WHERE typcategory = 'A'")
  const arrayOids = new Set(rows.map((r) => r.oid))
  const queryable = Object.getPrototypeOf(PrismaPg.prototype)
  if (queryable.__litemaasPatched) return
  const performIO = queryable.performIO
  queryable.performIO = async function (query) {
    const res = await performIO.call(this, query)
    if (!res.ok || !res.value?.fields) return res
    const { fields, rows: resultRows } = res.value
    fields.forEach((field, i) => {
      if (isSupported(field.dataTypeID)) return
      const isArray = arrayOids.has(field.dataTypeID)
      field.dataTypeID = isArray ? TEXT_ARRAY : TEXT
      for (const row of resultRows) {
        const v = row[i]
        if (v === null || v === undefined) continue
        if (isArray) row[i] = (Array.isArray(v) ? v : pgArray.parse(String(v))).map(asText)
        else row[i] = asText(v)
      }
    })
    return res
  }
  queryable.__litemaasPatched = true
}
