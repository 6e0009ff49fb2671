// The API key the console uses, when the API asks for one: kept in session storage, so it lives
// as long as the tab and is never written to disk by the console.

const storageKey = 'durable-agents.apiKey';

export function storedKey(): string | undefined {
  try {
    return sessionStorage.getItem(storageKey) ?? undefined;
  } catch {
    return undefined; // storage refused (private mode, policy): ask each time
  }
}

export function storeKey(key: string | undefined): void {
  try {
    if (key) sessionStorage.setItem(storageKey, key);
    else sessionStorage.removeItem(storageKey);
  } catch {
    // as above
  }
}
