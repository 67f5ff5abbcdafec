import { TEXT_HEIGHT, type Scene } from './chart-scene';

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const n = (v: number) => String(Math.round(v * 10) / 10);

/** The scene as a standalone inline <svg> (role img, titled), no scripts, no external references. */
export function renderSvg(scene: Scene): string {
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeXml(scene.title)}" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" font-family="Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="12">`,
    `<title>${escapeXml(scene.title)}</title>`,
    `<rect x="0" y="0" width="${scene.width}" height="${scene.height}" fill="${scene.background}"/>`,
  ];
  for (const s of scene.shapes) {
    if (s.kind === 'rect') parts.push(`<rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.w)}" height="${n(s.h)}" fill="${s.fill}"/>`);
    else if (s.kind === 'line') parts.push(`<line x1="${n(s.x1)}" y1="${n(s.y1)}" x2="${n(s.x2)}" y2="${n(s.y2)}" stroke="${s.stroke}" stroke-width="1"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    else parts.push(`<text x="${n(s.x)}" y="${n(s.y + TEXT_HEIGHT - 1)}" text-anchor="${s.anchor}" fill="${s.fill}">${escapeXml(s.text)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
