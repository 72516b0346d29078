/**
 * Removes every form an API key can take in a server's text (the bare key, the `Bearer` header value,
 * URL-encoded) before the text is cut, so a key straddling the cut cannot leak its first characters.
 */
export function redactKey(text: string, apiKey: string | undefined): string {
  if (!apiKey) return text;
  let out = text;
  for (const form of new Set([apiKey, encodeURIComponent(apiKey), encodeURI(apiKey)])) out = out.split(form).join('***');
  return out;
}

/** Redacts, then cuts to `max` characters. */
export function redactAndCut(text: string, apiKey: string | undefined, max: number): string {
  return redactKey(text, apiKey).slice(0, max);
}
