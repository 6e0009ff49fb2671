// ANSI styling for a terminal only: plain text when the stream is not one, or NO_COLOR is set.

const enabled = (stream: NodeJS.WriteStream) => stream.isTTY === true && !process.env.NO_COLOR;

export interface Style {
  dim(text: string): string;
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const wrap = (on: boolean, open: number, close: number) => (text: string) => (on ? `\x1b[${open}m${text}\x1b[${close}m` : text);

export function styleFor(stream: NodeJS.WriteStream): Style {
  const on = enabled(stream);
  return { dim: wrap(on, 2, 22), bold: wrap(on, 1, 22), red: wrap(on, 31, 39), green: wrap(on, 32, 39), yellow: wrap(on, 33, 39) };
}
