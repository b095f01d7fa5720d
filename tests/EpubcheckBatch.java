// Runs EPUBCheck on many files in one JVM (a Java start costs seconds: about 10 s of CPU to load
// and compile EPUBCheck, against a fraction of a second for one more small book).
//
// Usage: java -cp epubcheck.jar EpubcheckBatch.java OUT_DIR a.epub b.epub ...
//   Writes OUT_DIR/<n>.json (EPUBCheck's --json report) for the n-th file.
// Or:    java -cp epubcheck.jar EpubcheckBatch.java --serve
//   Reads batches from standard input, one a line: OUT_DIR and the files, separated by tabs.
//   Writes each batch's reports as above, then "done RC" (the worst exit status of the batch)
//   on standard output; stops at the end of its input.  The test suite keeps one such JVM for
//   all its EPUBCheck runs in a process (tests/epub_fixtures.py), so that it starts once.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

public class EpubcheckBatch {
    static int check(String[] args) {
        int worst = 0;
        for (int i = 1; i < args.length; i++) {
            int rc = new com.adobe.epubcheck.tool.EpubChecker().run(
                new String[] {args[i], "-q", "--json", args[0] + "/" + (i - 1) + ".json"});
            worst = Math.max(worst, rc);
        }
        return worst;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--serve")) {
            PrintStream answers = System.out;
            // Whatever EPUBCheck prints goes to standard error: standard output carries the answers.
            System.setOut(System.err);
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                try {
                    answers.println("done " + check(line.split("\t")));
                } catch (Throwable e) {
                    // A JVM in an unknown state checks nothing more: the caller finds the reports
                    // missing, and the next batch starts a fresh JVM.
                    e.printStackTrace();
                    answers.println("done 99");
                    answers.flush();
                    System.exit(99);
                }
                answers.flush();
            }
            System.exit(0);
        }
        System.exit(check(args));
    }
}
