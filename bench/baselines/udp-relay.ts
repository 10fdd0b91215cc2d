/**
 * Packet-latency baseline: a plain Node process that forwards every UDP
 * datagram it receives on 127.0.0.1 to one port, untouched. Two of them in a
 * row stand for the two daemons' processes without the bridge, SRTP and ICE.
 *
 *   udp-relay.ts PORT   forwards to 127.0.0.1:PORT; prints {"ready":true,"port":N}
 *                       (its own port) and ends when stdin closes
 */
import dgram from 'node:dgram'
import { say } from '../lib/stdio-commands.ts'

const target = Number(process.argv[2])
if (!Number.isInteger(target) || target < 1 || target > 65535) {
  process.stderr.write('usage: udp-relay.ts PORT\n')
  process.exit(2)
}

const socket = dgram.createSocket('udp4')
socket.on('message', packet => { socket.send(packet, target, '127.0.0.1') })
socket.bind(0, '127.0.0.1', () => { say({ ready: true, port: socket.address().port }) })
process.stdin.resume()
process.stdin.on('end', () => { socket.close(); process.exit(0) })
