// proxy-from-env 2 ships no types: the one function wa-bulk uses.
declare module 'proxy-from-env' {
  /** The proxy URL the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, …) gives for `url`, or '' for none. */
  export function getProxyForUrl(url: string | URL): string;
}
