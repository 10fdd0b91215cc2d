import http from 'node:http'

export interface JsonResponse {
  status: number
  body: any
}

const DEFAULT_TIMEOUT_MS = 10_000

/** One HTTP request with an optional JSON body over a unix socket; a JSON answer is parsed. */
export async function unixJson (socketPath: string, method: string, path: string, body?: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<JsonResponse> {
  return await new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request({
      socketPath,
      method,
      path,
      agent: false,
      timeout: timeoutMs,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' }
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = text
        try { parsed = JSON.parse(text) } catch { /* not JSON: keep the text */ }
        resolve({ status: res.statusCode ?? 0, body: parsed })
      })
      res.on('error', reject)
    })
    req.once('timeout', () => { req.destroy(new Error(`${method} ${path} on ${socketPath}: no answer in ${timeoutMs} ms`)) })
    req.once('error', reject)
    req.end(payload)
  })
}

/** unixJson, but anything other than the expected status is an error naming the answer. */
export async function expectStatus (socketPath: string, method: string, path: string, expected: number, body?: unknown): Promise<any> {
  const res = await unixJson(socketPath, method, path, body)
  if (res.status !== expected) {
    throw new Error(`${method} ${path}: ${res.status} (expected ${expected}): ${JSON.stringify(res.body).slice(0, 300)}`)
  }
  return res.body
}
