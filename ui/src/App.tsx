import { useEffect, useState } from "react";
import { Navigate, NavLink, Route, Routes, useLocation } from "react-router-dom";
import { useSession } from "./session";
import { applyTheme, initialTheme, type Theme } from "./lib/theme";
import { LoginPage } from "./pages/LoginPage";
import { NotFound } from "./components/Status";
import { trackingRoutes } from "./pages/tracking/routes";
import { compareRoutes } from "./pages/compare/routes";
import { registryRoutes } from "./pages/registry/routes";
import { pipelineRoutes } from "./pages/pipelines/routes";
import { adminRoutes } from "./pages/admin/routes";

const NAV = [
  ["/experiments", "Experiments"],
  ["/models", "Models"],
  ["/promotions", "Promotions"],
  ["/pipelines", "Pipelines"],
  ["/lineage", "Lineage"],
  ["/audit", "Audit log"],
  ["/admin", "Admin"],
] as const;

export function App() {
  const { me, config, ready, logout } = useSession();
  const location = useLocation();
  const [theme, setTheme] = useState<Theme>(initialTheme);
  // Each area names the tab (and the history entry) for what it shows.
  useEffect(() => {
    const area = NAV.find(([to]) => location.pathname === to || location.pathname.startsWith(`${to}/`));
    document.title = area ? `${area[1]} · Clew` : "Clew";
  }, [location.pathname]);

  if (!ready) return <div className="boot" aria-busy="true" />;
  if (config.auth && !me) {
    if (location.pathname === "/login") return <LoginPage />;
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }

  const toggleTheme = () => {
    const next = theme === "dark" ? "light" : "dark";
    applyTheme(next);
    setTheme(next);
  };

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="Clew home">
          clew
        </NavLink>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <NavLink to={to}>{label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-end">
          <button type="button" className="ghost" onClick={toggleTheme}>
            <span className="visually-hidden">Toggle theme: </span>
            {theme === "dark" ? "Light" : "Dark"}
          </button>
          {me && (
            <span className="who" title={me.kind}>
              {me.name}
            </span>
          )}
          {config.auth && me && (
            <button type="button" className="ghost" onClick={() => void logout()}>
              Sign out
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/experiments" replace />} />
          <Route path="/login" element={<LoginPage />} />
          {trackingRoutes}
          {compareRoutes}
          {registryRoutes}
          {pipelineRoutes}
          {adminRoutes}
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </div>
  );
}
