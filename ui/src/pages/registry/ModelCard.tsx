import { modelCard } from "./lib";

/** The version's ``model_card.*`` tags as a card, one block per section. */
export function ModelCard({ tags }: { tags: Record<string, string> }) {
  const sections = modelCard(tags);
  if (sections.length === 0) {
    return (
      <p className="muted">
        No model card: set <code>model_card.*</code> tags on the version (e.g.{" "}
        <code>model_card.intended_use</code>, <code>model_card.limitations</code>).
      </p>
    );
  }
  return (
    <article className="card model-card" aria-label="Model card">
      {sections.map((s) => (
        <section key={s.title} className="card-section">
          <h3>{s.title}</h3>
          {s.fields.map((f) =>
            f.label ? (
              <div key={f.key} className="card-field">
                <div className="card-label">{f.label}</div>
                <div className="card-value">{f.value}</div>
              </div>
            ) : (
              <p key={f.key} className="card-value">
                {f.value}
              </p>
            ),
          )}
        </section>
      ))}
    </article>
  );
}
