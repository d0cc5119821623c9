import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { get, post, setCsrfToken } from "./api/client";

/** Who is signed in, as /auth/me answers; null while signed out (only when auth is on). */
export interface Me {
  name: string;
  kind: string;
  admin?: boolean;
  csrf_token?: string | null;
}

export interface AuthConfig {
  auth: boolean;
  password: boolean;
  oidc: boolean;
}

interface SessionState {
  me: Me | null;
  config: AuthConfig;
  ready: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const Session = createContext<SessionState | null>(null);

const NO_AUTH: AuthConfig = { auth: false, password: false, oidc: false };

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [config, setConfig] = useState<AuthConfig>(NO_AUTH);
  const [ready, setReady] = useState(false);

  /** One call, never a 401: how to sign in here and who is signed in already. */
  const refresh = useCallback(async () => {
    const answer = await get<AuthConfig & { user: Me | null }>("/auth/config");
    setConfig({ auth: answer.auth, password: answer.password, oidc: answer.oidc });
    setCsrfToken(answer.user?.csrf_token);
    setMe(answer.user);
  }, []);

  useEffect(() => {
    refresh()
      .catch(() => setMe(null))
      .finally(() => setReady(true));
  }, [refresh]);

  const login = useCallback(
    async (username: string, password: string) => {
      const made = await post<{ csrf_token: string }>("/auth/login", { username, password });
      setCsrfToken(made.csrf_token);
      await refresh();
    },
    [refresh],
  );

  const logout = useCallback(async () => {
    await post("/auth/logout");
    setCsrfToken("");
    setMe(null);
  }, []);

  return (
    <Session.Provider value={{ me, config, ready, login, logout }}>{children}</Session.Provider>
  );
}

export function useSession(): SessionState {
  const state = useContext(Session);
  if (!state) throw new Error("useSession outside SessionProvider");
  return state;
}
