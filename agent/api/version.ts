/**
 * The agent API version. Bump it whenever a route, a request or a response changes shape:
 * the controller replaces an agent whose version differs from its own.
 */
export const AGENT_API_VERSION = 14;
