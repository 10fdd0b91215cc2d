/** The web listener's address and token checks live in util (the Foxglove listener shares them). */
export { bearerMatches, isLoopbackHost, parseHostPort } from '../util/listen-address.ts'
