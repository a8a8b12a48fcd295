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
// Nothing of a batch's texts stays reachable once it is answered (a heap dump of the JVM holds
// no past request's words): stdin is read through ``Input``, whose buffers are wiped after each
// batch, not through Java's readers, which keep the last 8 KB they read for the JVM's life.
import edu.stanford.nlp.ie.crf.CRFClassifier;
import edu.stanford.nlp.ling.CoreLabel;
import edu.stanford.nlp.util.Triple;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
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
        Input in = new Input(new FileInputStream(FileDescriptor.in));
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
            // the batch is answered: its texts are no longer reachable from here
            texts.clear();
            in.wipe();
        }
    }

    /** Lines of UTF-8 read from a stream into buffers of its own, which ``wipe`` zeroes. */
    static final class Input {
        private final InputStream in;
        private final byte[] buffer = new byte[1 << 16];
        private int start;  // buffer[start:end] is read from the stream, not yet returned
        private int end;
        private byte[] line = new byte[1 << 12];

        Input(InputStream in) {
            this.in = in;
        }

        /** The next line without its line break, or null at the end of the stream. */
        String readLine() throws IOException {
            int length = 0;
            while (true) {
                for (int i = start; i < end; i++) {
                    if (buffer[i] == '\n') {
                        length = keep(i - start, length);
                        start = i + 1;
                        return decoded(length);
                    }
                }
                length = keep(end - start, length);
                Arrays.fill(buffer, 0, end, (byte) 0);
                start = 0;
                end = Math.max(in.read(buffer), 0);
                if (end == 0) {
                    return length == 0 ? null : decoded(length);
                }
            }
        }

        /** Zero what was returned (the stream's bytes not read yet are kept). */
        void wipe() {
            Arrays.fill(buffer, 0, start, (byte) 0);
            Arrays.fill(line, (byte) 0);
        }

        private int keep(int count, int length) {
            if (length + count > line.length) {
                byte[] larger = Arrays.copyOf(line, Math.max(2 * line.length, length + count));
                Arrays.fill(line, (byte) 0);
                line = larger;
            }
            System.arraycopy(buffer, start, line, length, count);
            return length + count;
        }

        private String decoded(int length) {
            String text = new String(line, 0, length, StandardCharsets.UTF_8);
            Arrays.fill(line, 0, length, (byte) 0);
            return text;
        }
    }
}
