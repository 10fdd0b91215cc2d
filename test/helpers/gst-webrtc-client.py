#!/usr/bin/python3
"""A WHEP player or WHIP publisher on GStreamer's webrtcbin (libnice, GStreamer's
own DTLS/SRTP): a WebRTC stack other than libdatachannel and Chromium's, as
GStreamer's whepsrc and whipsink use. For the tests only.

  gst-webrtc-client.py whep URL [--codec h264|vp8] [--seconds N]
      plays URL; prints {"event": "frames", "frames": N} every second
  gst-webrtc-client.py whip URL [--codec h264|vp8] [--seconds N]
      publishes a test pattern to URL until N seconds pass or SIGTERM, then DELETEs

WEBRTC_CLIENT_DEBUG=1 prints the offer and the answer to stderr.
First line on stdout: {"event": "answered", "status": 201, "location": ...}
or {"event": "refused", "status": 4xx, "body": ...}. Exit 0 when it ran to the end.
"""
import argparse
import json
import os
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstWebRTC', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('Nice', '0.1')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

CAPS = {
    'h264': 'application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,packetization-mode=(string)1,profile-level-id=(string)42e01f',
    'vp8': 'application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000',
}
SEND = {
    'h264': 'videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! '
            'x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! video/x-h264,profile=constrained-baseline ! '
            'rtph264pay config-interval=-1 mtu=1200 pt=102 ! application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000 ! webrtcbin name=webrtc bundle-policy=max-bundle',
    'vp8': 'videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! '
           'vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay mtu=1200 pt=96 ! ' + CAPS['vp8'] + ' ! webrtcbin name=webrtc bundle-policy=max-bundle',
}


def out(obj):
    print(json.dumps(obj), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['whep', 'whip'])
    ap.add_argument('url')
    ap.add_argument('--codec', choices=list(CAPS), default='h264')
    ap.add_argument('--seconds', type=float, default=10)
    args = ap.parse_args()

    Gst.init(None)
    loop = GLib.MainLoop()
    state = {'frames': 0, 'location': None, 'code': 0}

    if args.mode == 'whip':
        pipe = Gst.parse_launch(SEND[args.codec])
        webrtc = pipe.get_by_name('webrtc')
        # The payloader's pad made a sendrecv transceiver; a publisher only sends.
        def on_transceiver(_bin, trans):
            trans.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        webrtc.connect('on-new-transceiver', on_transceiver)
    else:
        pipe = Gst.Pipeline.new('whep')
        webrtc = Gst.ElementFactory.make('webrtcbin', 'webrtc')
        webrtc.set_property('bundle-policy', GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        pipe.add(webrtc)
        webrtc.emit('add-transceiver', GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, Gst.Caps.from_string(CAPS[args.codec]))

        def on_handoff(*_):
            state['frames'] += 1

        def on_decoded(_dbin, pad):
            if not pad.get_current_caps().to_string().startswith('video/'):
                return
            sink = Gst.ElementFactory.make('fakesink')
            sink.set_property('signal-handoffs', True)
            sink.set_property('sync', False)
            sink.connect('handoff', on_handoff)
            pipe.add(sink)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad('sink'))

        def on_pad(_bin, pad):
            if pad.direction != Gst.PadDirection.SRC:
                return
            dbin = Gst.ElementFactory.make('decodebin')
            dbin.connect('pad-added', on_decoded)
            pipe.add(dbin)
            dbin.sync_state_with_parent()
            pad.link(dbin.get_static_pad('sink'))
        webrtc.connect('pad-added', on_pad)

    # Loopback only (libnice leaves it out by default): the tests never send anything off this machine.
    agent = webrtc.get_property('ice-agent')
    agent.set_property('ice-tcp', False)
    local = Nice.Address.new()
    local.set_from_string('127.0.0.1')
    agent.get_property('agent').add_local_address(local)

    def request(method, url, body=None):
        req = urllib.request.Request(url, data=body, method=method, headers={'content-type': 'application/sdp'} if body else {})
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, res.headers.get('location'), res.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, None, e.read().decode()

    def post_offer():
        # No trickle: the offer goes once gathering is complete, with every candidate (edged answers PATCH with 405).
        sdp = webrtc.get_property('local-description').sdp.as_text()
        status, location, body = request('POST', args.url, sdp.encode())
        if os.environ.get('WEBRTC_CLIENT_DEBUG'):
            sys.stderr.write(f'OFFER:\n{sdp}\nANSWER:\n{body}\n')
        if status != 201:
            out({'event': 'refused', 'status': status, 'body': body})
            state['code'] = 2
            loop.quit()
            return False
        state['location'] = urllib.parse.urljoin(args.url, location)
        out({'event': 'answered', 'status': status, 'location': location})
        _, msg = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        webrtc.emit('set-remote-description', answer, None)
        return False

    def on_gathering(_bin, _pspec):
        if webrtc.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE and state['location'] is None and state['code'] == 0:
            GLib.idle_add(post_offer)
    webrtc.connect('notify::ice-gathering-state', on_gathering)

    def on_offer(promise, _data):
        reply = promise.get_reply()
        offer = reply.get_value('offer') if reply is not None and reply.has_field('offer') else None
        if offer is None:
            out({'event': 'error', 'message': f'no offer: {reply.to_string() if reply is not None else "no reply"}'})
            state['code'] = 1
            GLib.idle_add(lambda: loop.quit() or False)
            return
        webrtc.emit('set-local-description', offer, None)

    def on_negotiation(_bin):
        if state.get('offered'):
            return
        state['offered'] = True
        webrtc.emit('create-offer', None, Gst.Promise.new_with_change_func(on_offer, None))
    webrtc.connect('on-negotiation-needed', on_negotiation)

    def tick():
        if args.mode == 'whep':
            out({'event': 'frames', 'frames': state['frames']})
        return True
    GLib.timeout_add(1000, tick)
    GLib.timeout_add(int(args.seconds * 1000), lambda: loop.quit() or False)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, lambda: loop.quit() or False)

    def on_bus(_bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            out({'event': 'error', 'message': f'{err.message} ({dbg})'})
            state['code'] = 1
            loop.quit()
    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect('message', on_bus)

    pipe.set_state(Gst.State.PLAYING)
    if args.mode == 'whep':
        on_negotiation(webrtc)  # a recvonly transceiver alone does not always fire on-negotiation-needed
    loop.run()
    if args.mode == 'whep':
        out({'event': 'frames', 'frames': state['frames']})
    if state['location'] is not None:
        request('DELETE', state['location'])
    pipe.set_state(Gst.State.NULL)
    sys.exit(state['code'])


if __name__ == '__main__':
    main()
