package org.evallearn.tensor;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * The one way native memory is owned here. Every native object created while a scope is open is
 * a temporary of the innermost one and is freed when it closes, except what is explicitly let out:
 * <ul>
 *   <li>{@link #handUp} gives a result to the enclosing scope, which frees it in turn; a method
 *       that hands up must be called inside a scope, and handing up with none open is an
 *       {@link IllegalStateException} (it used to escape silently, and nobody freed it);</li>
 *   <li>{@link #escape} gives a long-lived object to an owner object (a {@link Model}'s
 *       {@link Weights}, a detector, a scheduler's history), whose {@code close()} frees it.</li>
 * </ul>
 * Nothing else in the code calls {@link PointerScope}, {@code retainReference} or
 * {@code releaseReference}. Scopes nest like blocks on one thread: closing one while a scope
 * opened inside it is still open, or from another thread, is an {@link IllegalStateException}.
 *
 * <p>The GC is far too slow for native tensors (400 temporaries of 5 MiB: 2.6 s and 1.9 GiB
 * under the GC, 95 ms and 183 MiB released explicitly), so every forward pass runs in one.
 */
public final class Scope implements AutoCloseable {
    private final PointerScope scope = new PointerScope();
    private final Thread owner = Thread.currentThread();
    private final List<Pointer> handedUp = new ArrayList<>();
    private boolean closed;

    private Scope() {}

    public static Scope open() {
        return new Scope();
    }

    /**
     * Keeps {@code p} alive past this scope, owned by the enclosing scope.
     *
     * @throws IllegalStateException when no scope encloses this one: the caller must open one
     */
    public <P extends Pointer> P handUp(P p) {
        checkUsable("handUp");
        if (enclosing() == null) {
            throw new IllegalStateException("Scope.handUp with no enclosing scope: nothing would free the result;"
                    + " call this method inside a Scope (try (Scope s = Scope.open()) { … })");
        }
        p.retainReference();
        handedUp.add(p);
        return p;
    }

    /** Keeps {@code p} alive past this scope and every other, for an owner object whose {@code close()} frees it. */
    public <P extends Pointer> P escape(P p) {
        checkUsable("escape");
        p.retainReference();
        return p;
    }

    /** The scope right below this one on this thread's stack, or null. */
    private PointerScope enclosing() {
        Iterator<PointerScope> it = PointerScope.getScopeIterator();
        while (it.hasNext()) {
            if (it.next() == scope) return it.hasNext() ? it.next() : null;
        }
        return null;
    }

    private void checkUsable(String what) {
        if (closed) throw new IllegalStateException("Scope." + what + " on a closed scope");
        checkThread(what);
    }

    private void checkThread(String what) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("Scope." + what + " on thread '" + Thread.currentThread().getName()
                    + "', but the scope was opened on '" + owner.getName() + "': scopes belong to one thread");
        }
    }

    /**
     * Frees every temporary and gives the handed-up results to the enclosing scope.
     *
     * @throws IllegalStateException on another thread (nothing is freed then: the opening thread
     *     still has the scope open), or when a scope opened inside this one is still open (this one
     *     is freed anyway, so the failure costs no memory)
     */
    @Override
    public void close() {
        if (closed) return;
        checkThread("close");
        boolean innermost = PointerScope.getInnerScope() == scope;
        closed = true;
        scope.close();
        PointerScope outer = innermost ? PointerScope.getInnerScope() : null;
        for (Pointer p : handedUp) {
            if (outer != null) outer.attach(p);
            p.releaseReference();
        }
        handedUp.clear();
        if (!innermost) {
            throw new IllegalStateException("Scope closed out of order: a scope opened inside it is still open"
                    + " (scopes must nest like blocks: close them with try-with-resources)");
        }
    }
}
