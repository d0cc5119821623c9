import { Route } from "react-router-dom";
import { AdminLayout } from "./AdminLayout";
import { AuditPage } from "./AuditPage";

/** The audit log and the admin pages: users, tokens, teams, roles. */
export const adminRoutes = [
  <Route key="audit" path="/audit" element={<AuditPage />} />,
  <Route key="admin" path="/admin/*" element={<AdminLayout />} />,
];
