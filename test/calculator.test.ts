import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CalculatorError, evaluate, formatNumber } from '../src/activities/tools/calculator';

const good: Array<[string, string]> = [
  ['12*7', '84'],
  ['(3+4)/2', '3.5'],
  ['2 + 3 * 4', '14'],
  ['-2^2', '-4'],
  ['2^3^2', '512'],
  ['2**10', '1024'],
  ['10 % 3', '1'],
  ['0.1 + 0.2', '0.3'],
  ['-(-3)', '3'],
  ['1e3 / 8', '125'],
  ['.5 * 4', '2'],
];

for (const [expression, expected] of good) {
  test(`when the expression is ${expression}, then it evaluates to ${expected}`, () => {
    assert.equal(formatNumber(evaluate(expression)), expected);
  });
}

const junk: Array<[string, RegExp]> = [
  ['', /empty/],
  ['2+', /unexpected end/],
  ['abc', /unexpected "a"/],
  ['((1)', /missing "\)"/],
  ['1/0', /division by zero/],
  ['5 % 0', /division by zero/],
  ['process.exit(1)', /unexpected "p"/],
  ['1; 2', /unexpected ";"/],
  ['9^9^9', /not a finite number/],
  ['('.repeat(200) + '1' + ')'.repeat(200), /nested too deeply/],
  ['1'.repeat(1001), /longer than 1000/],
];

for (const [expression, message] of junk) {
  test(`when the expression is junk (${expression.slice(0, 20)}), then a clear CalculatorError`, () => {
    assert.throws(() => evaluate(expression), (error: unknown) => error instanceof CalculatorError && message.test(error.message));
  });
}
