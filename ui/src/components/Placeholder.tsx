/** A page whose area is being built in this session; replaced by the real page before merge. */
export function Placeholder({ title }: { title: string }) {
  return (
    <section>
      <h1>{title}</h1>
    </section>
  );
}
