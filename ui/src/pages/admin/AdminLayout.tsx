import { Link, NavLink, Route, Routes } from "react-router-dom";
import { NotFound } from "../../components/Status";
import { RolesPage } from "./RolesPage";
import { TeamsPage } from "./TeamsPage";
import { TokensPage } from "./TokensPage";
import { UsersPage } from "./UsersPage";
import "./admin.css";

const SECTIONS = [
  ["users", "Users", "People and service accounts; who is an admin."],
  ["tokens", "Tokens", "Access tokens: when each was last used, when it expires; make and revoke them."],
  ["teams", "Teams", "Groups of users that role bindings can name."],
  ["roles", "Roles", "Who holds which role on what: everything, an experiment, a model, a pipeline."],
] as const;

/** /admin/*: the identity pages under one sub-navigation. */
export function AdminLayout() {
  return (
    <div className="admin">
      <nav className="subnav" aria-label="Admin">
        <ul>
          {SECTIONS.map(([to, label]) => (
            <li key={to}>
              <NavLink to={`/admin/${to}`}>{label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Routes>
        <Route index element={<AdminHome />} />
        <Route path="users" element={<UsersPage />} />
        <Route path="tokens" element={<TokensPage />} />
        <Route path="teams" element={<TeamsPage />} />
        <Route path="roles" element={<RolesPage />} />
        <Route path="*" element={<NotFound />} />
      </Routes>
    </div>
  );
}

function AdminHome() {
  return (
    <section>
      <h1>Admin</h1>
      <p className="muted">Identity and access on this server. Every change here lands in the audit log.</p>
      <ul className="admin-cards">
        {SECTIONS.map(([to, label, about]) => (
          <li key={to}>
            <Link to={`/admin/${to}`}>{label}</Link>
            <p>{about}</p>
          </li>
        ))}
        <li>
          <Link to="/audit">Audit log</Link>
          <p>Every change, hash-chained; verify the chain and export it.</p>
        </li>
      </ul>
    </section>
  );
}
