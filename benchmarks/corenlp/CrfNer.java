import edu.stanford.nlp.ie.crf.CRFClassifier;
import edu.stanford.nlp.ling.CoreLabel;
import edu.stanford.nlp.util.Triple;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Stanford CoreNLP's CRF NER as a process on a pipe (benchmarks/corenlp_tier.py).
 * Reads one text per line on stdin; writes one line per text: its entities as
 * "LABEL START END" joined by tabs, offsets in Unicode code points (Python's str indices,
 * not Java's UTF-16 units). Prints "ready" once the classifier is loaded.
 */
public final class CrfNer {
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: CrfNer <classifier.crf.ser.gz>");
            System.exit(2);
        }
        CRFClassifier<CoreLabel> classifier = CRFClassifier.getClassifier(args[0]);
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        out.println("ready");
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String text = in.readLine(); text != null; text = in.readLine()) {
            StringBuilder line = new StringBuilder();
            for (Triple<String, Integer, Integer> entity : classifier.classifyToCharacterOffsets(text)) {
                if (line.length() > 0) {
                    line.append('\t');
                }
                line.append(entity.first()).append(' ')
                    .append(text.codePointCount(0, entity.second())).append(' ')
                    .append(text.codePointCount(0, entity.third()));
            }
            out.println(line);
            out.flush();
        }
    }
}
