// The arithmetic in a sentence, found by one pass over it. Regular expressions did this before,
// and they backtracked: a run of "(" or "-" with no digit after it cost time quadratic in its
// length, so one long message could stop the process serving the demo model for tens of seconds.
// Each step below visits every character a bounded number of times.

const isDigit = (character: string | undefined) => character !== undefined && character >= '0' && character <= '9';
/** What `\s` matches, without running a regular expression per character. */
const spaces = new Set(' \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff');
const isSpace = (character: string | undefined) => character !== undefined && spaces.has(character);
const isOperator = (character: string | undefined) => character !== undefined && '+-*/%^'.includes(character);
/** What may follow the first digit of an expression: digits, spaces, a point, operators, parentheses. */
const continuesExpression = (character: string) => isDigit(character) || isSpace(character) || '.+-*/%^()'.includes(character);
/** What may come before its first digit: minus signs and opening parentheses. */
const leadsExpression = (character: string | undefined) => character === '-' || character === '(';
const isTrailingJunk = (character: string | undefined) => isSpace(character) || '-+*/%^('.includes(character ?? 'x');

/** Stretches of `text` that look like arithmetic: "-(" signs, a digit, then digits, spaces, operators and parentheses. */
function candidates(text: string): string[] {
  const out: string[] = [];
  let position = 0;
  while (position < text.length) {
    let digit = position;
    while (digit < text.length && !isDigit(text[digit])) digit++;
    if (digit === text.length) break;
    let start = digit;
    while (start > position && leadsExpression(text[start - 1])) start--;
    let end = digit + 1;
    while (end < text.length && continuesExpression(text[end]!)) end++;
    out.push(text.slice(start, end));
    position = end;
  }
  return out;
}

/** Drops spaces around, and operators or "(" left dangling at the end. */
function trimExpression(candidate: string): string {
  const trimmed = candidate.trim();
  let end = trimmed.length;
  while (end > 0 && isTrailingJunk(trimmed[end - 1])) end--;
  return trimmed.slice(0, end);
}

/**
 * True when a digit, spaces and ")"s, an operator, spaces and "-("s, and a digit follow each other
 * somewhere: an actual operation, not a lone number. Which positions can end such a left side and
 * start such a right side is worked out once per position, from each end.
 */
function hasOperation(expression: string): boolean {
  const length = expression.length;
  // leftEnds[i]: some digit, then spaces, ")"s and spaces, ends right before i.
  const digitThenSpaces = new Uint8Array(length + 1);
  const digitThenClosing = new Uint8Array(length + 1);
  const leftEnds = new Uint8Array(length + 1);
  for (let i = 1; i <= length; i++) {
    const before = expression[i - 1];
    digitThenSpaces[i] = Number(isDigit(before) || (isSpace(before) && digitThenSpaces[i - 1] === 1));
    digitThenClosing[i] = Number(digitThenSpaces[i] === 1 || (before === ')' && digitThenClosing[i - 1] === 1));
    leftEnds[i] = Number(digitThenClosing[i] === 1 || (isSpace(before) && leftEnds[i - 1] === 1));
  }
  // rightStarts[i]: spaces, "-("s, spaces, then a digit, start at i.
  const spacesThenDigit = new Uint8Array(length + 1);
  const openingThenDigit = new Uint8Array(length + 1);
  const rightStarts = new Uint8Array(length + 1);
  for (let i = length - 1; i >= 0; i--) {
    const at = expression[i];
    spacesThenDigit[i] = Number(isDigit(at) || (isSpace(at) && spacesThenDigit[i + 1] === 1));
    openingThenDigit[i] = Number(spacesThenDigit[i] === 1 || (leadsExpression(at) && openingThenDigit[i + 1] === 1));
    rightStarts[i] = Number(openingThenDigit[i] === 1 || (isSpace(at) && rightStarts[i + 1] === 1));
  }
  for (let i = 0; i < length; i++) if (isOperator(expression[i]) && leftEnds[i] === 1 && rightStarts[i + 1] === 1) return true;
  return false;
}

function balanceParentheses(expression: string): string {
  let depth = 0;
  let out = '';
  for (const character of expression) {
    if (character === '(') depth++;
    if (character === ')') {
      if (depth === 0) continue;
      depth--;
    }
    out += character;
  }
  return out + ')'.repeat(depth);
}

export function findExpressions(text: string): string[] {
  return candidates(text).map(trimExpression).filter(hasOperation).map(balanceParentheses);
}
