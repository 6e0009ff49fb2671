import { createContext, useContext } from 'react';
import { createClient, type DurableAgentsClient } from '../../src/client';

// The console talks to the API that serves it, through the typed client only.

export interface Api {
  client: DurableAgentsClient;
  /** A key is in use (the API asked for one). */
  keyed: boolean;
  /** Forget the key (a 401 later asks again). */
  signOut(): void;
}

export const ApiContext = createContext<Api | undefined>(undefined);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside <ApiContext>');
  return api;
}

export function clientFor(apiKey: string | undefined): DurableAgentsClient {
  return createClient({ baseUrl: window.location.origin, ...(apiKey ? { apiKey } : {}) });
}
