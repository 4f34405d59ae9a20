/**
 * What WhatsApp takes for each media type (EngageLab Send Message API, "media Message Format
 * requirements"):
 *
 *   image     image/jpeg, image/png                                   5 MB
 *   video     video/mp4, video/3gpp (H.264 video, AAC audio)          16 MB
 *   audio     audio/aac, audio/mp4, audio/amr, audio/mpeg,            16 MB
 *             audio/ogg only with codecs=opus
 *   document  any type; a template header's document only PDF         100 MB
 *   sticker   image/webp                                              100 KB static, 500 KB animated
 *
 * A HEAD cannot tell a static sticker from an animated one, so a sticker is held to the larger bound
 * (500 KB); an audio/ogg link whose Content-Type does not name its codec gets a warning, not a reject.
 */

export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

const MB = 1024 * 1024;
const KB = 1024;

export interface MediaRule {
  types: readonly string[] | 'any';
  maxBytes: number;
}

export const MEDIA_RULES: Readonly<Record<MediaKind | 'header-document', MediaRule>> = {
  image: { types: ['image/jpeg', 'image/png'], maxBytes: 5 * MB },
  video: { types: ['video/mp4', 'video/3gpp'], maxBytes: 16 * MB },
  audio: { types: ['audio/aac', 'audio/mp4', 'audio/amr', 'audio/mpeg', 'audio/ogg'], maxBytes: 16 * MB },
  document: { types: 'any', maxBytes: 100 * MB },
  'header-document': { types: ['application/pdf'], maxBytes: 100 * MB },
  sticker: { types: ['image/webp'], maxBytes: 500 * KB },
};

const size = (bytes: number) => (bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${Math.ceil(bytes / KB)} KB`);

/** A reject (the message would fail) or a warning, for what a link's answer says. */
export function mediaProblem(
  kind: MediaKind,
  inHeader: boolean,
  contentType: string | undefined,
  bytes: number | undefined,
): { reject?: string; warning?: string } {
  const ruleName = kind === 'document' && inHeader ? 'header-document' : kind;
  const rule = MEDIA_RULES[ruleName];
  const [type = '', ...params] = (contentType ?? '')
    .toLowerCase()
    .split(';')
    .map((part) => part.trim());
  const what =
    ruleName === 'header-document' ? 'a template header document' : `${kind === 'image' ? 'an' : 'a'} ${kind}`;
  if (rule.types !== 'any') {
    if (!type) return { reject: `the link gives no Content-Type; ${what} must be ${rule.types.join(', ')}` };
    if (!rule.types.includes(type)) return { reject: `the link is ${type}; ${what} must be ${rule.types.join(', ')}` };
  }
  if (bytes !== undefined && bytes > rule.maxBytes)
    return { reject: `the link is ${size(bytes)}; ${what} may be at most ${size(rule.maxBytes)}` };
  if (kind === 'audio' && type === 'audio/ogg' && !params.some((p) => /^codecs\s*=\s*"?opus"?$/.test(p))) {
    return { warning: 'the link is audio/ogg without codecs=opus; WhatsApp takes Ogg audio only as Opus' };
  }
  if (bytes === undefined) return { warning: 'the link does not say its size' };
  return {};
}
