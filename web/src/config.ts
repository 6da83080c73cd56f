/** Build-time API base ('' = same origin); see vite.config.ts. */
export const API_URL: string = typeof __API_URL__ === 'string' ? __API_URL__ : '';

/** `ws(s)://host/ws/realtime` for an API base (or the page's origin when ''). */
export function realtimeUrl(base: string = API_URL, location: Pick<Location, 'protocol' | 'host'> = window.location): string {
  if (base) {
    const url = new URL(base, `${location.protocol}//${location.host}`);
    const scheme = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const path = url.pathname.replace(/\/+$/, '');
    return `${scheme}//${url.host}${path}/ws/realtime`;
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws/realtime`;
}
