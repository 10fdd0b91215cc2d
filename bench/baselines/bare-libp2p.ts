/**
 * The startup baseline: a bare libp2p node with the services edged runs
 * (tcp, noise, yamux, identify, ping, kad-dht, gossipsub; no mDNS) in a plain
 * Node process. It takes the same `--config FILE` as edged (reading only
 * control.socket and swarm.listen) and, once the node is up, answers
 * GET /v1/status with 200 on the control socket, so "spawn → socket answers"
 * measures the same thing for both.
 */
import fs from 'node:fs'
import http from 'node:http'
import { parseArgs } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { parse } from 'yaml'

interface BaselineConfig {
  control: { socket: string }
  swarm: { listen: string[] }
}

const { values } = parseArgs({ options: { config: { type: 'string' } } })
if (values.config === undefined) {
  process.stderr.write('usage: bare-libp2p.ts --config FILE (edged YAML: control.socket, swarm.listen)\n')
  process.exit(2)
}
const config = parse(fs.readFileSync(values.config, 'utf8')) as BaselineConfig

const node = await createLibp2p({
  addresses: { listen: config.swarm.listen },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({ protocol: '/edge-stack-bench/kad/1.0.0', clientMode: false }),
    pubsub: gossipsub()
  }
})

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/v1/status') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ peerId: node.peerId.toString(), addresses: node.getMultiaddrs().map(String) }))
  } else {
    res.writeHead(404).end()
  }
})
fs.rmSync(config.control.socket, { force: true })
await new Promise<void>(resolve => { server.listen(config.control.socket, resolve) })

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  server.close()
  server.closeAllConnections()
  Promise.resolve(node.stop()).then(() => { process.exit(0) }, (err: unknown) => {
    process.stderr.write(`bare-libp2p: stop failed: ${String(err)}\n`)
    process.exit(1)
  })
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
