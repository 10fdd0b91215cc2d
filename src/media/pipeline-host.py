#!/usr/bin/python3
"""
pipeline-host: runs one GStreamer pipeline and takes commands while it runs.

    /usr/bin/python3 pipeline-host.py [--parent PID] [--count ELEMENT]... -- DESCRIPTION-ARGS...

DESCRIPTION-ARGS is a gst-launch description split into argv (the daemon's
splitLaunchArgs), parsed with Gst.parse_launchv exactly as gst-launch-1.0
parses it. --count ELEMENT counts the buffers into and out of that element
(pad probes) for the stats command.

stdin, one JSON object per line (the daemon's src/media/host-protocol.ts):
    {"id": 1, "cmd": "set", "element": E, "property": P, "value": V}
    {"id": 2, "cmd": "caps", "before": E, "caps": "video/x-raw,width=640"}
    {"id": 3, "cmd": "keyframe", "element": E}
    {"id": 4, "cmd": "stats", "properties": [[E, P]...], "caps": [E...]}
    {"id": 5, "cmd": "eos"}
An element E is a name (name=...) or, failing that, a factory name
(the first element made by it).

stdout, one JSON object per line:
    {"id": 1, "ok": true, "result": ...}
    {"id": 1, "ok": false, "error": {"name": "...", "message": "..."}}
    {"event": "playing", "ports": {"<udpsrc name>": port}}
    {"event": "eos"}  {"event": "error", "element": ..., "message": ..., "debug": ...}

Supervision, as gst-launch-1.0 -e under the daemon: SIGINT sends EOS (muxers
finish their files) and exits when it has gone through; stdin closing does the
same; an error exits 1 with gst-launch's wording on stderr ("no element
\"x\"" names a missing element); the process dies with its parent
(PR_SET_PDEATHSIG).
"""
import ctypes
import json
import os
import signal
import sys
import threading

try:
    import gi
    gi.require_version('Gst', '1.0')
    from gi.repository import GLib, GObject, Gst
except (ImportError, ValueError) as missing:
    sys.stderr.write('ERROR: GStreamer\'s Python bindings are not installed (%s): install the Debian packages '
                     'python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 (scripts/setup does)\n' % missing)
    sys.exit(1)

try:
    gi.require_version('GstVideo', '1.0')
    from gi.repository import GstVideo  # noqa: E402
except (ValueError, ImportError):
    GstVideo = None

PR_SET_PDEATHSIG = 1
# After stdin closes: how long EOS may take before the host exits anyway.
EOS_GRACE_S = 5
# A line longer than this is refused (the daemon's commands are a few hundred bytes).
MAX_LINE_BYTES = 64 * 1024

_out_lock = threading.Lock()


def emit(obj):
    line = json.dumps(obj, separators=(',', ':'))
    with _out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def log_err(text):
    sys.stderr.write(text + '\n')
    sys.stderr.flush()


def set_parent_death_signal(parent):
    """Die with the daemon, even when it is SIGKILLed (Linux only; elsewhere stdin closing still ends us)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    # The parent may have died between fork and prctl.
    if parent is not None and os.getppid() != parent:
        os._exit(1)


class CommandError(Exception):
    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


class Counter:
    """Buffers into and out of one element, counted by pad probes (streaming threads)."""

    def __init__(self, element):
        self.frames_in = 0
        self.frames_out = 0
        self.bytes_out = 0
        for pad in element.sinkpads[:1]:
            pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self._in)
        for pad in element.srcpads[:1]:
            pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self._out)

    def _in(self, pad, info):
        self.frames_in += _buffers(info)
        return Gst.PadProbeReturn.OK

    def _out(self, pad, info):
        self.frames_out += _buffers(info)
        buf = info.get_buffer()
        if buf is not None:
            self.bytes_out += buf.get_size()
        else:
            blist = info.get_buffer_list()
            if blist is not None:
                self.bytes_out += blist.calculate_size()
        return Gst.PadProbeReturn.OK

    def snapshot(self):
        return {'framesIn': self.frames_in, 'framesOut': self.frames_out, 'bytesOut': self.bytes_out}


def _buffers(info):
    if info.type & Gst.PadProbeType.BUFFER_LIST:
        blist = info.get_buffer_list()
        return blist.length() if blist is not None else 0
    return 1


def iterate_elements(bin_):
    it = bin_.iterate_recurse()
    out = []
    while True:
        res, el = it.next()
        if res == Gst.IteratorResult.OK:
            out.append(el)
        elif res == Gst.IteratorResult.RESYNC:
            it.resync()
            out.clear()
        else:
            return out


def caps_fields(caps):
    if caps is None or caps.get_size() == 0:
        return None
    s = caps.get_structure(0)
    fields = {'media': s.get_name()}
    for key in ('width', 'height'):
        ok, value = s.get_int(key)
        if ok:
            fields[key] = value
    ok, num, den = s.get_fraction('framerate')
    if ok and den != 0:
        fields['fps'] = num / den
    return fields


_INTEGER_TYPES = (GObject.TYPE_INT, GObject.TYPE_UINT, GObject.TYPE_LONG, GObject.TYPE_ULONG, GObject.TYPE_INT64, GObject.TYPE_UINT64)
_FLOAT_TYPES = (GObject.TYPE_FLOAT, GObject.TYPE_DOUBLE)


def coerce(pspec, value):
    """The JSON value as the property's type wants it, or None when it does not fit (PyGObject would take 'maybe' for true)."""
    t = pspec.value_type
    if t == GObject.TYPE_BOOLEAN:
        return value if isinstance(value, bool) else None
    if t in _INTEGER_TYPES or t.is_a(GObject.TYPE_ENUM) or t.is_a(GObject.TYPE_FLAGS):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if t in _FLOAT_TYPES:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if t == GObject.TYPE_STRING or t == Gst.Structure.__gtype__ or t == Gst.Caps.__gtype__:
        return value if isinstance(value, str) else None
    return value


def to_json(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, Gst.Structure):
        return value.to_string()
    if isinstance(value, Gst.Caps):
        return value.to_string()
    try:
        return int(value)  # GEnum / GFlags
    except (TypeError, ValueError):
        return str(value)


class Host:
    def __init__(self, argv, counted):
        self.loop = GLib.MainLoop()
        self.exit_code = 0
        self.playing = False
        self.eos_sent = False
        self.pipeline = self._parse(argv)
        self.counters = {}
        for name in counted:
            el = self.find(name, required=False)
            if el is not None:
                self.counters[name] = Counter(el)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect('message', self._on_message)

    @staticmethod
    def _parse(argv):
        try:
            element = Gst.parse_launchv(argv)
        except GLib.Error as err:
            # gst-launch's wording: the daemon reads "no element \"x\"" from the stderr tail.
            log_err('ERROR: pipeline could not be constructed: %s.' % err.message)
            sys.exit(1)
        if isinstance(element, Gst.Pipeline):
            return element
        pipeline = Gst.Pipeline.new(None)
        pipeline.add(element)
        return pipeline

    # --- lifecycle -------------------------------------------------------

    def run(self):
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            # the bus carries the reason; let _on_message report it
            pass
        # A Python-level handler (PyGObject wakes its loop to run it): with the
        # default one in place, MainLoop.run() would install its own SIGINT
        # fallback, which quits at once and re-raises SIGINT, skipping EOS.
        signal.signal(signal.SIGINT, lambda _sig, _frame: GLib.idle_add(self._on_sigint))
        threading.Thread(target=self._read_stdin, daemon=True).start()
        self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)
        return self.exit_code

    def _on_sigint(self):
        self.send_eos()
        return GLib.SOURCE_REMOVE

    def send_eos(self):
        if self.eos_sent:
            return
        self.eos_sent = True
        if not self.playing:
            self.loop.quit()
            return
        self.pipeline.send_event(Gst.Event.new_eos())

    def _stdin_closed(self):
        # the daemon is gone or wants us gone: finish cleanly, but never linger
        self.send_eos()
        GLib.timeout_add_seconds(EOS_GRACE_S, self._give_up)
        return GLib.SOURCE_REMOVE

    def _give_up(self):
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def _read_stdin(self):
        stdin = sys.stdin.buffer
        while True:
            line = stdin.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            GLib.idle_add(self._on_line, line)
        GLib.idle_add(self._stdin_closed)

    def _on_message(self, bus, msg):
        t = msg.type
        if t == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            src = msg.src.get_name() if msg.src is not None else 'pipeline'
            log_err('ERROR: from element %s: %s' % (msg.src.get_path_string() if msg.src is not None else src, err.message))
            if debug:
                log_err('Additional debug info:\n%s' % debug)
            emit({'event': 'error', 'element': src, 'message': err.message, 'debug': debug})
            self.exit_code = 1
            self.loop.quit()
        elif t == Gst.MessageType.WARNING:
            warn, debug = msg.parse_warning()
            log_err('WARNING: from element %s: %s' % (msg.src.get_path_string() if msg.src is not None else '?', warn.message))
        elif t == Gst.MessageType.EOS:
            emit({'event': 'eos'})
            self.loop.quit()
        elif t == Gst.MessageType.STATE_CHANGED and msg.src == self.pipeline:
            _old, new, _pending = msg.parse_state_changed()
            if new == Gst.State.PLAYING and not self.playing:
                self.playing = True
                emit({'event': 'playing', 'ports': self._udpsrc_ports()})
        return True

    def _udpsrc_ports(self):
        ports = {}
        for el in iterate_elements(self.pipeline):
            factory = el.get_factory()
            if factory is not None and factory.get_name() == 'udpsrc':
                ports[el.get_name()] = el.get_property('port')
        return ports

    # --- commands --------------------------------------------------------

    def _on_line(self, raw):
        reply_id = None
        try:
            if len(raw) > MAX_LINE_BYTES:
                raise CommandError('HostCommandError', 'command line longer than %d bytes' % MAX_LINE_BYTES)
            try:
                cmd = json.loads(raw)
            except ValueError as err:
                raise CommandError('HostCommandError', 'not JSON: %s' % err)
            if not isinstance(cmd, dict):
                raise CommandError('HostCommandError', 'a command is a JSON object')
            reply_id = cmd.get('id')
            handler = getattr(self, 'cmd_' + str(cmd.get('cmd')), None)
            if handler is None:
                raise CommandError('HostCommandError', 'unknown command %r' % cmd.get('cmd'))
            emit({'id': reply_id, 'ok': True, 'result': handler(cmd)})
        except CommandError as err:
            emit({'id': reply_id, 'ok': False, 'error': {'name': err.name, 'message': str(err)}})
        except Exception as err:  # a bug here must not take the pipeline down
            emit({'id': reply_id, 'ok': False, 'error': {'name': 'HostCommandError', 'message': '%s: %s' % (type(err).__name__, err)}})
        return GLib.SOURCE_REMOVE

    def find(self, ref, required=True):
        if not isinstance(ref, str) or ref == '':
            raise CommandError('HostCommandError', 'element must be a name or factory name')
        el = self.pipeline.get_by_name(ref)
        if el is None:
            for candidate in iterate_elements(self.pipeline):
                factory = candidate.get_factory()
                if factory is not None and factory.get_name() == ref:
                    el = candidate
                    break
        if el is None and required:
            raise CommandError('UnknownElementError', 'the pipeline has no element %s' % ref)
        return el

    def cmd_set(self, cmd):
        el = self.find(cmd.get('element'))
        prop = cmd.get('property')
        pspec = el.find_property(prop) if isinstance(prop, str) else None
        if pspec is None:
            raise CommandError('UnknownPropertyError', '%s has no property %s' % (el.get_factory().get_name(), prop))
        value = coerce(pspec, cmd.get('value'))
        if value is None:
            raise CommandError('HostCommandError', '%s.%s is %s: %r does not fit' % (el.get_name(), prop, pspec.value_type.name, cmd.get('value')))
        if pspec.value_type == Gst.Structure.__gtype__:
            parsed = Gst.Structure.from_string(value)
            value = parsed[0] if isinstance(parsed, tuple) else parsed
        elif pspec.value_type == Gst.Caps.__gtype__:
            value = Gst.Caps.from_string(value)
        if value is None:
            raise CommandError('HostCommandError', '%s.%s: cannot parse %r' % (el.get_name(), prop, cmd.get('value')))
        try:
            el.set_property(prop, value)
        except (TypeError, ValueError, OverflowError) as err:
            raise CommandError('HostCommandError', '%s.%s = %r: %s' % (el.get_name(), prop, cmd.get('value'), err))
        return {'value': to_json(el.get_property(prop))}

    def cmd_caps(self, cmd):
        """New caps on the capsfilter feeding an element: the pipeline renegotiates without a restart."""
        target = self.find(cmd.get('before'))
        capsfilter = self._capsfilter_before(target)
        if capsfilter is None:
            raise CommandError('FormatUnsupportedError', 'no capsfilter before %s to change' % target.get_name())
        try:
            caps = Gst.Caps.from_string(str(cmd.get('caps')))
        except (TypeError, ValueError):
            caps = None
        if caps is None:
            raise CommandError('HostCommandError', 'not caps: %s' % cmd.get('caps'))
        peer = capsfilter.sinkpads[0].get_peer()
        can = peer.query_caps(None) if peer is not None else None
        if can is not None and not can.can_intersect(caps):
            raise CommandError('FormatUnsupportedError', 'the source cannot produce %s (it can: %s)' % (caps.to_string(), can.to_string()))
        capsfilter.set_property('caps', caps)
        return {'caps': caps.to_string()}

    def _capsfilter_before(self, element):
        """Walk upstream from element through one-input elements (queues) to the nearest capsfilter."""
        el = element
        for _ in range(8):
            if len(el.sinkpads) != 1:
                return None
            peer = el.sinkpads[0].get_peer()
            if peer is None:
                return None
            el = peer.get_parent_element()
            if el is None:
                return None
            factory = el.get_factory()
            if factory is not None and factory.get_name() == 'capsfilter':
                return el
        return None

    def cmd_keyframe(self, cmd):
        el = self.find(cmd.get('element'))
        if GstVideo is not None:
            event = GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0)
        else:
            event = Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, Gst.Structure.new_from_string('GstForceKeyUnit, all-headers=(boolean)true'))
        if len(el.srcpads) == 0 or not el.srcpads[0].send_event(event):
            raise CommandError('HostCommandError', '%s did not take the key-unit request' % el.get_name())
        return {}

    def cmd_stats(self, cmd):
        properties = {}
        for pair in cmd.get('properties') or []:
            if not isinstance(pair, list) or len(pair) != 2:
                continue
            el = self.find(pair[0], required=False)
            if el is not None and el.find_property(pair[1]) is not None:
                properties['%s.%s' % (pair[0], pair[1])] = to_json(el.get_property(pair[1]))
        caps = {}
        for ref in cmd.get('caps') or []:
            el = self.find(ref, required=False)
            if el is not None and len(el.sinkpads) > 0:
                caps[ref] = caps_fields(el.sinkpads[0].get_current_caps())
        return {
            'counters': {name: c.snapshot() for name, c in self.counters.items()},
            'properties': properties,
            'caps': caps
        }

    def cmd_eos(self, cmd):
        self.send_eos()
        return {}


def main(args):
    parent = None
    counted = []
    while args and args[0] != '--':
        flag = args.pop(0)
        if flag == '--parent' and args:
            parent = int(args.pop(0))
        elif flag == '--count' and args:
            counted.append(args.pop(0))
        else:
            log_err('usage: pipeline-host.py [--parent PID] [--count ELEMENT]... -- DESCRIPTION-ARGS...')
            return 2
    if args:
        args.pop(0)
    if not args:
        log_err('pipeline-host: no pipeline description')
        return 2
    set_parent_death_signal(parent)
    Gst.init(None)
    return Host(args, counted).run()


if __name__ == '__main__':
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # not sys.exit: the stdin reader thread may sit in readline() holding the
    # reader's lock, and interpreter shutdown would abort on it
    os._exit(code)
