// Runs EPUBCheck on many files in one JVM (a Java start costs seconds).
// Usage: java -cp epubcheck.jar EpubcheckBatch.java OUT_DIR a.epub b.epub ...
// Writes OUT_DIR/<n>.json (EPUBCheck's --json report) for the n-th file.
public class EpubcheckBatch {
    public static void main(String[] args) throws Exception {
        int worst = 0;
        for (int i = 1; i < args.length; i++) {
            int rc = new com.adobe.epubcheck.tool.EpubChecker().run(
                new String[] {args[i], "-q", "--json", args[0] + "/" + (i - 1) + ".json"});
            worst = Math.max(worst, rc);
        }
        System.exit(worst);
    }
}
