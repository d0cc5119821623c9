import { describe, expect, it } from "vitest";
import { formatBytes, imageType, parseDelimited, previewKind } from "../src/pages/tracking/artifactKinds";

describe("artifact previews", () => {
  it("picks a preview by name", () => {
    expect(previewKind("model/MLmodel")).toBe("text");
    expect(previewKind("metrics.json")).toBe("json");
    expect(previewKind("plots/roc.PNG")).toBe("image");
    expect(previewKind("data/train.csv")).toBe("table");
    expect(previewKind("data/train.parquet")).toBe("table");
    expect(previewKind("notes.txt")).toBe("text");
    expect(previewKind("model.pkl")).toBe("none");
    expect(imageType("a/b.svg")).toBe("image/svg+xml");
  });

  it("reads quoted CSV fields", () => {
    const csv = 'a,b,c\n1,"x, y",3\n"say ""hi""","multi\nline",\r\n';
    expect(parseDelimited(csv, ",", 10)).toEqual({
      columns: ["a", "b", "c"],
      rows: [["1", "x, y", "3"], ['say "hi"', "multi\nline", ""]],
      truncated: false,
    });
  });

  it("caps the rows and says so", () => {
    const csv = "n\n" + Array.from({ length: 50 }, (_, i) => String(i)).join("\n") + "\n";
    const parsed = parseDelimited(csv, ",", 10);
    expect(parsed.rows.length).toBe(10);
    expect(parsed.truncated).toBe(true);
  });

  it("drops a last row the download cut off", () => {
    const parsed = parseDelimited("a\tb\n1\t2\n3\t4", "\t", 10, true);
    expect(parsed.rows).toEqual([["1", "2"]]);
    expect(parsed.truncated).toBe(true);
  });

  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KB");
  });
});
