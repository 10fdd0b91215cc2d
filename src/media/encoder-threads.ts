/**
 * How many threads vp8enc may use: libwebrtc's rule (LibvpxVp8Encoder::
 * NumberOfThreads, also Firefox's VP8TrackEncoder): one thread up to VGA,
 * two above it only with three cores or more, three above 1280×960 with six.
 *
 * More is not free: libvpx's VP8 row threads wait for the row above by
 * spinning (vp8_atomic_spin_wait, which does not yield on Linux). With two
 * cores and anything else running, the spinning thread takes the core the
 * thread it waits for needs: measured here at 320×240, threads=2 burnt 4×
 * the CPU of threads=1 and held frames back 60–500 ms, then let them go in
 * bursts (decoded-frame gaps over 100 ms, before and after a new target).
 */
const VGA_PIXELS = 640 * 480
const HD_PIXELS = 1280 * 960

/** width/height undefined: the pipeline chooses its size, so take it as above VGA. */
export function vp8Threads (width: number | undefined, height: number | undefined, cores: number): number {
  const pixels = width !== undefined && height !== undefined ? width * height : undefined
  if (pixels !== undefined && pixels <= VGA_PIXELS) return 1
  if (cores >= 6 && pixels !== undefined && pixels > HD_PIXELS) return 3
  return cores >= 3 ? 2 : 1
}
