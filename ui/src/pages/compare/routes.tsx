import { Route } from "react-router-dom";
import { ComparePage } from "./ComparePage";

/** Comparing runs: metric charts, parallel coordinates, a diff of params. */
export const compareRoutes = [<Route key="compare" path="/compare" element={<ComparePage />} />];
