import { Route } from "react-router-dom";
import { Placeholder } from "../../components/Placeholder";

/** The audit log and the admin pages: users, tokens, teams, roles. */
export const adminRoutes = [
  <Route key="audit" path="/audit" element={<Placeholder title="Audit log" />} />,
  <Route key="admin" path="/admin/*" element={<Placeholder title="Admin" />} />,
];
