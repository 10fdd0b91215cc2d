import http from 'node:http'

export interface UnixResponse { status: number, headers: http.IncomingHttpHeaders, body: any, text: string }

/** One HTTP request over a unix socket; JSON bodies are parsed. */
export async function unixRequest (socketPath: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<UnixResponse> {
  return await new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request({
      socketPath, method, path,
      headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      timeout: 5000
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = text
        try { parsed = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text })
      })
    })
    req.on('timeout', () => { req.destroy(new Error(`timeout: ${method} ${path}`)) })
    req.on('error', reject)
    req.end(payload)
  })
}
