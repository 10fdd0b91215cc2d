import type { PeerConnection, SelectedCandidateInfo } from 'node-datachannel'
import type { SelectedPair } from './types.ts'

function side (info: SelectedCandidateInfo): SelectedPair['local'] {
  return { type: info.type, address: info.address, port: info.port, transport: info.transportType.toLowerCase() }
}

/** The ICE pair in use (types host | srflx | prflx | relay), or null before ICE has chosen one. */
export function selectedPair (pc: PeerConnection): SelectedPair | null {
  try {
    const pair = pc.getSelectedCandidatePair()
    return pair === null ? null : { local: side(pair.local), remote: side(pair.remote) }
  } catch {
    return null
  }
}
