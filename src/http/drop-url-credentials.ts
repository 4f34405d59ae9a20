/**
 * A page opened as `http://user:password@host/…` keeps the credentials in its document's URL, and browsers
 * refuse every fetch() of a URL resolved against it ("Request cannot be constructed from a URL that includes
 * credentials"), so a page that loads its data with relative URLs stays empty. `location.origin` never
 * carries them: this script, first in a page's <head>, loads the page again from there when the document's
 * URL has them, and the browser keeps the Basic credentials it was given for the origin. Every HTML page of
 * the dashboard includes it (Bull Board's through mountBoard, src/http/board.ts).
 */
export const dropUrlCredentials =
  '<script>if(/^[a-z][a-z0-9+.-]*:\\/\\/[^/?#]*@/i.test(document.URL))' +
  'location.replace(location.origin+location.pathname+location.search+location.hash)</script>';
