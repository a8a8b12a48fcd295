// SPDX-License-Identifier: GPL-3.0-or-later
//
// douane's sidecar around Stanford CoreNLP's CRF named-entity classifier. It imports CoreNLP's
// classes (GPL v3 or later), so it is a work based on CoreNLP and carries CoreNLP's licence;
// douane's Python code talks to it only through a pipe (lines of text and offsets).
//
// Arguments: <language>=<classifier.crf.ser.gz> ... (one per language).
// Prints "ready" once every classifier is loaded, then answers batches read from stdin:
//   "<language> <count>" then <count> lines of text (no line breaks inside a text);
// and writes <count> lines, one per text: its entities as "LABEL START END" joined by tabs,
// offsets in Unicode code points (Python's str indices, not Java's UTF-16 units).
// The whole batch is read before anything is written, so neither side blocks on a full pipe.
import edu.stanford.nlp.ie.crf.CRFClassifier;
import edu.stanford.nlp.ling.CoreLabel;
import edu.stanford.nlp.util.Triple;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

public final class CrfSidecar {
    public static void main(String[] args) throws Exception {
        Map<String, CRFClassifier<CoreLabel>> classifiers = new HashMap<>();
        for (String arg : args) {
            int equals = arg.indexOf('=');
            if (equals <= 0) {
                System.err.println("usage: CrfSidecar <language>=<classifier.crf.ser.gz> ...");
                System.exit(2);
            }
            classifiers.put(arg.substring(0, equals),
                            CRFClassifier.getClassifier(arg.substring(equals + 1)));
        }
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        out.println("ready");
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String header = in.readLine(); header != null; header = in.readLine()) {
            String[] fields = header.split(" ");
            CRFClassifier<CoreLabel> classifier = fields.length == 2 ? classifiers.get(fields[0]) : null;
            if (classifier == null) {
                System.err.println("bad batch header: " + header);
                System.exit(3);
            }
            int count = Integer.parseInt(fields[1]);
            List<String> texts = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                String text = in.readLine();
                if (text == null) {
                    System.exit(4);
                }
                texts.add(text);
            }
            for (String text : texts) {
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
            }
            out.flush();
        }
    }
}
