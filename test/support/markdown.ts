/** Markdown plans escape ASCII punctuation in plain text (engine/render/escape.ts); tests read them as a renderer would. */
export function unescapeMarkdown(md: string): string {
  return md.replace(/\\([!-\/:-@[-`{-~])/g, '$1');
}
