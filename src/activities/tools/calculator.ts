// A safe arithmetic evaluator for the `calculator` tool: a recursive-descent parser over numbers,
// + - * / % ^ and parentheses. Never `eval`: the model's text is data, not code.

export class CalculatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalculatorError';
  }
}

const maxLength = 1000;
const maxDepth = 100;

export function evaluate(expression: string): number {
  if (typeof expression !== 'string' || expression.trim() === '') throw new CalculatorError('empty expression');
  if (expression.length > maxLength) throw new CalculatorError(`expression longer than ${maxLength} characters`);
  const source = expression.replace(/\*\*/g, '^');
  let position = 0;
  let depth = 0;

  const skipSpace = () => {
    while (position < source.length && /\s/.test(source[position]!)) position++;
  };
  const peek = () => {
    skipSpace();
    return source[position];
  };
  const fail = (what: string): never => {
    throw new CalculatorError(`${what} at position ${position + 1} in "${expression}"`);
  };

  const parseExpression = (): number => {
    if (++depth > maxDepth) fail('expression nested too deeply');
    let value = parseTerm();
    for (let operator = peek(); operator === '+' || operator === '-'; operator = peek()) {
      position++;
      const right = parseTerm();
      value = operator === '+' ? value + right : value - right;
    }
    depth--;
    return value;
  };

  const parseTerm = (): number => {
    let value = parseUnary();
    for (let operator = peek(); operator === '*' || operator === '/' || operator === '%'; operator = peek()) {
      position++;
      const right = parseUnary();
      if ((operator === '/' || operator === '%') && right === 0) fail('division by zero');
      value = operator === '*' ? value * right : operator === '/' ? value / right : value % right;
    }
    return value;
  };

  const parseUnary = (): number => {
    const next = peek();
    if (next === '-' || next === '+') {
      position++;
      if (++depth > maxDepth) fail('expression nested too deeply');
      const value = parseUnary();
      depth--;
      return next === '-' ? -value : value;
    }
    return parsePower();
  };

  // ^ binds tighter than unary minus on its left and is right-associative: -2^2 = -4, 2^3^2 = 512.
  const parsePower = (): number => {
    const base = parsePrimary();
    if (peek() === '^') {
      position++;
      return base ** parseUnary();
    }
    return base;
  };

  const parsePrimary = (): number => {
    const next = peek();
    if (next === '(') {
      position++;
      const value = parseExpression();
      if (peek() !== ')') fail('missing ")"');
      position++;
      return value;
    }
    const match = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(source.slice(position));
    if (!match) return next === undefined ? fail('unexpected end') : fail(`unexpected "${next}"`);
    position += match[0].length;
    return Number(match[0]);
  };

  const value = parseExpression();
  if (peek() !== undefined) fail(`unexpected "${peek()}"`);
  if (!Number.isFinite(value)) throw new CalculatorError(`result is not a finite number in "${expression}"`);
  return value;
}

/** Up to 12 significant digits, without float noise such as 0.30000000000000004. */
export function formatNumber(value: number): string {
  return String(Number(value.toPrecision(12)));
}
