/** Names users and peers give things, checked alike wherever they come in. */

/** A data channel label: 1-64 letters, digits, . _ -; a leading . _ - is reserved (the daemons' own `_edge`). */
export const CHANNEL_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** A media source name (config, WHIP): 1-64 letters, digits, . _ -. */
export const SOURCE_NAME = /^[A-Za-z0-9._-]{1,64}$/
