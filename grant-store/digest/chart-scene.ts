/**
 * A chart as a list of shapes in CSS pixels, drawn by two renderers from the same description:
 * inline SVG (the HTML file, browsers and mail clients that show SVG) and PNG (email, where
 * Gmail and Outlook show only raster images). Text is laid out with the PNG font's metrics
 * (TEXT_ADVANCE per character), which are wider than the SVG font's, so it fits in both.
 */

export type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill: string }
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; dashed?: boolean }
  | { kind: 'text'; x: number; y: number; text: string; anchor: 'start' | 'middle' | 'end'; fill: string };

export interface Scene {
  /** Used as the image's alt text and the SVG's <title>. */
  title: string;
  width: number;
  height: number;
  background: string;
  shapes: Shape[];
}

/** Horizontal advance of one character, CSS px (the PNG font at 1.5 CSS px per font pixel). */
export const TEXT_ADVANCE = 9;
/** Height of a line of text (cap height of the PNG font plus a little air), CSS px. */
export const TEXT_HEIGHT = 11;

export function textExtent(text: string): number {
  return text.length * TEXT_ADVANCE;
}

/** Shorten `text` to at most `max` characters with an ellipsis-like "..". */
export function fit(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 2))}..`;
}

export const COLORS = {
  ink: '#1f2937',
  muted: '#6b7280',
  grid: '#e5e7eb',
  background: '#ffffff',
  target: '#dc2626',
  good: '#059669',
  warn: '#d97706',
  bad: '#dc2626',
  highlight: '#111827',
};

/** Series colours, distinguishable for the common colour-vision deficiencies (Okabe-Ito). */
export const SERIES = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#6b7280'];
