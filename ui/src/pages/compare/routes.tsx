import { Route } from "react-router-dom";
import { Placeholder } from "../../components/Placeholder";

/** Comparing runs: metric charts, parallel coordinates, a diff of params. */
export const compareRoutes = [
  <Route key="compare" path="/compare" element={<Placeholder title="Compare runs" />} />,
];
