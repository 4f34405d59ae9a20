import type http from 'node:http';

const MEDIA_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  mp4: 'video/mp4',
  '3gp': 'video/3gpp',
  mp3: 'audio/mpeg',
  aac: 'audio/aac',
  ogg: 'audio/ogg; codecs=opus',
  pdf: 'application/pdf',
};

/**
 * Not EngageLab's: media files for rehearsing preflight (the demo links its media here). `/media/<name>.<ext>`
 * answers with the extension's type and 50 KB, or the size the name says (`banner-6mb.png`,
 * `thanks-600kb.webp`); a name starting with "missing" is 404. HEAD, and a ranged GET's one byte.
 */
export function serveMedia(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice('/media/'.length));
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  if (name.startsWith('missing') || !MEDIA_TYPES[ext]) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  const sized = /-(\d+)(kb|mb)\./i.exec(name);
  const bytes = sized ? Number(sized[1]) * (sized[2]?.toLowerCase() === 'mb' ? 1024 * 1024 : 1024) : 50 * 1024;
  const headers = { 'Content-Type': MEDIA_TYPES[ext] as string, 'Accept-Ranges': 'bytes' };
  if (req.method === 'HEAD') {
    res.writeHead(200, { ...headers, 'Content-Length': bytes }).end();
    return;
  }
  if (/^bytes=0-0$/.test(String(req.headers.range ?? ''))) {
    res.writeHead(206, { ...headers, 'Content-Length': 1, 'Content-Range': `bytes 0-0/${bytes}` }).end(Buffer.alloc(1));
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': bytes }).end(Buffer.alloc(bytes));
}
